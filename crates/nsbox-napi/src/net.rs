//! Network bindings (networking issue) over `nsbox_net`. AsyncTasks run on the libuv pool in the
//! host's network namespace and never change namespace; attach, which opens a socket inside the
//! container's netns, runs on nsbox-net's own worker thread instead. Options cross as plain JS
//! objects (serde); results as JSON text that ts/src/network parses into typed objects.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use nsbox_core::WireError;
use nsbox_net::{NetError, Store};
use serde_json::Value;

use crate::to_napi;

fn net_err(e: NetError) -> Error {
    to_napi(WireError::from(&e))
}

fn bad(field: &str, e: impl std::fmt::Display) -> Error {
    to_napi(WireError::invalid_spec(field, e.to_string()))
}

/// `root` (or NSBOX_ROOT) chooses the state directory.
fn store(root: &Option<String>) -> Store {
    Store::new(root.as_ref().map(PathBuf::from).as_deref())
}

fn root_of(v: &Value) -> Option<String> {
    v.get("root").and_then(Value::as_str).map(String::from)
}

/// `pid` is a convenience for `netns: /proc/PID/ns/net`.
fn with_netns(mut v: Value) -> Value {
    if let (None, Some(pid)) = (v.get("netns").and_then(Value::as_str), v.get("pid").and_then(Value::as_i64)) {
        v["netns"] = Value::String(format!("/proc/{pid}/ns/net"));
    }
    v
}

macro_rules! to_value {
    ($v:expr) => {
        serde_json::to_string(&$v).map_err(|e| to_napi(WireError::runtime("serialize", None, e.to_string())))
    };
}

pub enum NetOp {
    Create(Value),
    List(Option<String>),
    Inspect(String, Option<String>),
    Remove(String, Option<String>),
    Prune(Option<String>),
    Detach(Value),
    Settle,
}

pub struct NetTask(NetOp);

impl Task for NetTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        match &self.0 {
            NetOp::Create(v) => {
                let opts: nsbox_net::CreateOptions = serde_json::from_value(v.clone()).map_err(|e| bad("options", e))?;
                to_value!(nsbox_net::create(&store(&root_of(v)), &opts).map_err(net_err)?)
            }
            NetOp::List(root) => to_value!(nsbox_net::list(&store(root)).map_err(net_err)?),
            NetOp::Inspect(name, root) => to_value!(nsbox_net::inspect(&store(root), name).map_err(net_err)?),
            NetOp::Remove(name, root) => {
                nsbox_net::remove(&store(root), name).map_err(net_err)?;
                Ok("null".into())
            }
            NetOp::Prune(root) => to_value!(nsbox_net::prune(&store(root)).map_err(net_err)?),
            NetOp::Detach(v) => {
                let v = with_netns(v.clone());
                let opts: nsbox_net::DetachOptions = serde_json::from_value(v.clone()).map_err(|e| bad("options", e))?;
                to_value!(nsbox_net::detach(&store(&root_of(&v)), &opts).map_err(net_err)?)
            }
            NetOp::Settle => to_value!(nsbox_net::teardown::settle().iter().map(|e| e.to_string()).collect::<Vec<_>>()),
        }
    }

    fn resolve(&mut self, _env: Env, out: String) -> Result<String> {
        Ok(out)
    }
}

/// Detach (and reclaim, rollback, remove) return once the kernel has unregistered a veth and leave
/// the rest of its deletion (the kernel waiting for RCU before freeing it) to a reaper thread
/// (nsbox-net's teardown.rs). Wait for those when this Node environment goes away, so the process never
/// exits before the kernel is done (the kernel would hold its exit for them anyway).
fn settle_at_exit(env: &Env) {
    static HOOKED: AtomicBool = AtomicBool::new(false);
    if !HOOKED.swap(true, Ordering::SeqCst) {
        let _ = env.add_env_cleanup_hook((), |_| {
            for e in nsbox_net::teardown::settle() {
                eprintln!("nsbox: deleting a veth failed after it was unregistered: {e}");
            }
        });
    }
}

/// Creates a network: `{ name, subnet?, gateway?, mtu?, internal?, root? }` → the network.
#[napi(ts_args_type = "options: Record<string, unknown>", ts_return_type = "Promise<string>")]
pub fn create_network(options: Value) -> AsyncTask<NetTask> {
    AsyncTask::new(NetTask(NetOp::Create(options)))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn list_networks(root: Option<String>) -> AsyncTask<NetTask> {
    AsyncTask::new(NetTask(NetOp::List(root)))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn inspect_network(name: String, root: Option<String>) -> AsyncTask<NetTask> {
    AsyncTask::new(NetTask(NetOp::Inspect(name, root)))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn remove_network(env: Env, name: String, root: Option<String>) -> AsyncTask<NetTask> {
    settle_at_exit(&env);
    AsyncTask::new(NetTask(NetOp::Remove(name, root)))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn prune_networks(env: Env, root: Option<String>) -> AsyncTask<NetTask> {
    settle_at_exit(&env);
    AsyncTask::new(NetTask(NetOp::Prune(root)))
}

/// Settles a promise with what a job computed (on the JS thread).
type Settle = Box<dyn FnOnce(Env) -> Result<String> + Send>;

/// `{ pid | netns, ownerPid?, network?, ip?, mac?, ports?, container?, hostname?, dns?, hostsPath?,
/// resolvConfPath?, hostnamePath?, root? }` → endpoint. The `*Path` files (already bound into the
/// container) are rewritten in place and removed on detach.
///
/// Not an AsyncTask: attach has to enter the container's netns to open a socket there, which no
/// libuv thread may do, so it runs on nsbox-net's worker thread, and going through the pool first
/// would only add a thread handoff to every attach.
#[napi(ts_args_type = "options: Record<string, unknown>", ts_return_type = "Promise<string>")]
pub fn attach_container(env: &Env, options: Value) -> Result<Object<'_>> {
    settle_at_exit(env);
    let v = with_netns(options);
    let opts: nsbox_net::AttachOptions = serde_json::from_value(v.clone()).map_err(|e| bad("options", e))?;
    let store = store(&root_of(&v));
    let (deferred, promise) = env.create_deferred::<String, Settle>()?;
    nsbox_net::worker::submit(move |visitor| {
        let out = match visitor {
            Ok(visitor) => {
                // A panic must still settle the promise (an unsettled one would keep Node's loop alive).
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| nsbox_net::endpoint::attach_on(visitor, &store, &opts))) {
                    Ok(r) => r.map_err(net_err).and_then(|ep| to_value!(ep)),
                    Err(_) => Err(to_napi(WireError::runtime("attach", Some(opts.netns.clone()), "nsbox-net worker panicked"))),
                }
            }
            Err(e) => Err(net_err(e.into())),
        };
        deferred.resolve(Box::new(move |_env| out));
    });
    Ok(promise)
}

/// `{ pid | netns | endpoint, network?, root? }` → ids of the endpoints removed.
#[napi(ts_args_type = "options: Record<string, unknown>", ts_return_type = "Promise<string>")]
pub fn detach_container(env: Env, options: Value) -> AsyncTask<NetTask> {
    settle_at_exit(&env);
    AsyncTask::new(NetTask(NetOp::Detach(options)))
}

/// Resolves, with the failures (none expected), once every veth deletion left to the kernel by
/// detach has finished: for benchmarks and tests that want the kernel's whole cost.
#[napi(ts_return_type = "Promise<string>")]
pub fn settle_network_teardown() -> AsyncTask<NetTask> {
    AsyncTask::new(NetTask(NetOp::Settle))
}
