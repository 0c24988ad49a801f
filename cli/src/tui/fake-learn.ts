/**
 * In-memory learn steps for the Learn view's component tests: S1–S15 with evidence of every kind
 * (compare, lines, topology with probes), a step the "host" cannot show (S8), one whose claim is not
 * shown (S3), and knobs to make run() fail or wait. Nothing here touches the host.
 */
import { CLAIM_IDS, type ClaimId, type Evidence, type LearnStep, type StepSession, type Support, type Text } from 'nsbox';

const t = (en: string, zh: string): Text => ({ en, zh });

const TITLES: Record<ClaimId, Text> = {
  S1: t('PID 1, twice', '两个 PID 1'), S2: t('Eight namespace kinds', '八种命名空间'), S3: t('cgroup namespace', 'cgroup 命名空间'),
  S4: t('ipc namespace', 'ipc 命名空间'), S5: t('mnt namespace', 'mnt 命名空间'), S6: t('net namespace', 'net 命名空间'),
  S7: t('user namespace maps', 'user 命名空间映射'), S8: t('Unprivileged parent, root child', '非特权父进程，root 子进程'),
  S9: t('uts namespace', 'uts 命名空间'), S10: t('PID 1 is init', 'PID 1 是 init'), S11: t('time namespace', 'time 命名空间'),
  S12: t('Sandbox, endpoint, network', '沙盒、端点、网络'), S13: t('The bridge as gateway', '网桥作为网关'),
  S14: t('Same bridge talks, two bridges do not', '同一网桥互通，不同网桥隔离'), S15: t('A veth pair is a pipe', 'veth 对就像管道'),
};

function bridge(name: string, octet: number, containers: string[]): Extract<Evidence, { kind: 'topology' }>['bridges'][number] {
  return {
    name, address: `10.${octet}.0.1/24`, ifindex: octet, mac: `02:00:00:00:${octet.toString(16).padStart(2, '0')}:01`,
    endpoints: containers.map((container, i) => ({
      container,
      hostVeth: { name: `veth-${container}`, ifindex: octet * 10 + i, mac: `02:00:00:00:${octet.toString(16).padStart(2, '0')}:${(i + 16).toString(16)}` },
      eth0: { ifindex: 2, mac: `02:42:0a:${octet.toString(16).padStart(2, '0')}:00:0${i + 2}`, address: `10.${octet}.0.${i + 2}/24`, peerIfindex: octet * 10 + i },
    })),
  };
}

/** Evidence of the kind each step would show. */
export function fakeEvidence(id: ClaimId): Evidence[] {
  if (id === 'S2') return [{ kind: 'lines', title: t('Namespaces created one by one', '逐个创建的命名空间'), lines: ['cgroup ok', 'ipc ok', 'mnt ok', 'net ok', 'pid ok', 'time ok', 'user ok', 'uts ok', 'uts+pid+user ok'] }];
  if (['S12', 'S13', 'S14', 'S15'].includes(id)) {
    const two = id === 'S14';
    return [{
      kind: 'topology', title: t('Bridges, veths and eth0', '网桥、veth 与 eth0'),
      bridges: two ? [bridge('learn-a', 77, ['box-a', 'box-b']), bridge('learn-b', 78, ['box-c'])] : [bridge('learn-a', 77, ['box-a'])],
      probes: two ? [
        { from: 'box-a', to: 'box-b', address: '10.77.0.3', kind: 'ping', ok: true, expected: true },
        { from: 'box-a', to: 'box-c', address: '10.78.0.2', kind: 'ping', ok: false, expected: false },
      ] : [],
    }];
  }
  const columns: [string, string] = id === 'S1' ? ['box-a', 'box-b'] : ['host', 'container'];
  return [{
    kind: 'compare', title: t(`What ${id} compares`, `${id} 的对比`), columns,
    rows: [
      { label: 'pid ns', left: '4026531836', right: '4026532301', same: false },
      { label: id === 'S1' ? 'pid of command' : 'user ns', left: id === 'S1' ? '1' : '4026531837', right: id === 'S1' ? '1' : '4026531837', same: true },
    ],
  }];
}

export class FakeLearn {
  /** run, close and exec calls in order: `run S1`, `close S1`, `exec S1 sh -c id`. */
  readonly calls: string[] = [];
  /** The host cannot show these (supported() says why). */
  readonly unsupported = new Set<ClaimId>(['S8']);
  /** These run, but their claim is not shown. */
  readonly notShown = new Set<ClaimId>(['S3']);
  /** The next run() of this step rejects with this error. */
  readonly failures = new Map<ClaimId, Error>();
  /** run() of these waits until release(id) (or its signal aborts). */
  readonly held = new Set<ClaimId>();
  private readonly releases = new Map<ClaimId, () => void>();
  readonly steps: LearnStep[] = CLAIM_IDS.map((id) => this.step(id));

  release(id: ClaimId): void { this.held.delete(id); this.releases.get(id)?.(); }

  private step(id: ClaimId): LearnStep {
    return {
      id, title: TITLES[id], section: t(`Section for ${id}`, `${id} 所在章节`),
      claim: t(`The claim of ${id}, in English.`, `${id} 的中文说法。`),
      commands: { nsbox: [`nsbox run --name learn-${id.toLowerCase()} busybox sleep 1000`], manual: [`unshare --fork --pid sh # ${id}`] },
      extraOptions: id === 'S5' ? [t('--cap-add SYS_ADMIN: to mount inside', '--cap-add SYS_ADMIN：为了在容器内挂载')] : [],
      supported: async (): Promise<Support> => (this.unsupported.has(id)
        ? { ok: false, reason: t('no user namespaces for unprivileged users here', '此主机不允许非特权用户创建 user 命名空间') } : { ok: true }),
      run: async (o) => {
        this.calls.push(`run ${id}`);
        if (this.held.has(id)) {
          await new Promise<void>((resolve, reject) => {
            this.releases.set(id, resolve);
            o?.signal?.addEventListener('abort', () => reject(Object.assign(new Error(`${id}: aborted`), { name: 'AbortError' })), { once: true });
          });
        }
        const f = this.failures.get(id);
        if (f) { this.failures.delete(id); throw f; }
        return this.session(id);
      },
    };
  }

  private session(id: ClaimId): StepSession {
    const shown = !this.notShown.has(id);
    return {
      step: id,
      verdict: { shown, detail: shown ? t(`${id} holds on this kernel`, `${id} 在此内核上成立`) : t('both saw the same inode', '两边看到同一个 inode') },
      evidence: fakeEvidence(id),
      containers: [{ id: `c-${id}-a`, label: 'box-a', pid: 4242 }, { id: `c-${id}-b`, label: 'box-b', pid: 4243 }],
      exec: async (command, containerId) => {
        this.calls.push(`exec ${id} ${containerId ?? `c-${id}-a`} ${command.join(' ')}`);
        return { stdout: `out of ${command.join(' ')}\nsecond\0line\n`, stderr: 'a warning\n', exitCode: 3 };
      },
      close: async () => { this.calls.push(`close ${id}`); },
    };
  }
}
