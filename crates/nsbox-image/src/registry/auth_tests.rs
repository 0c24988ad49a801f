use std::os::unix::fs::PermissionsExt;

use super::*;

fn files(dir: &Path) -> AuthFiles {
    AuthFiles { ours: dir.join("nsbox/auth.json"), docker: Some(dir.join("docker/config.json")) }
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nsbox-auth-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn stores_0600_and_reads_back_and_forgets() {
    let d = tempdir("store");
    let f = files(&d);
    let c = Credentials { username: "u".into(), password: "p:w".into() };
    f.store("https://127.0.0.1:5000/v2/", &c).unwrap();
    let mode = std::fs::metadata(&f.ours).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::metadata(d.join("nsbox")).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(f.lookup("127.0.0.1:5000").unwrap(), Some(c.clone()));
    f.store("docker.io", &c).unwrap();
    assert!(std::fs::read_to_string(&f.ours).unwrap().contains(HUB_KEY));
    assert_eq!(f.lookup("registry-1.docker.io").unwrap(), Some(c));
    assert!(f.remove("127.0.0.1:5000").unwrap());
    assert!(!f.remove("127.0.0.1:5000").unwrap());
    assert_eq!(f.lookup("127.0.0.1:5000").unwrap(), None);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn reads_dockers_auths_and_helpers() {
    let d = tempdir("docker");
    let f = files(&d);
    std::fs::create_dir_all(d.join("docker")).unwrap();
    let auth = B64.encode("alice:secret");
    std::fs::write(
        d.join("docker/config.json"),
        format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"r.lan:5000":{{"auth":"{auth}"}}}},"credHelpers":{{"helped.io":"nsboxtest"}}}}"#),
    )
    .unwrap();
    assert_eq!(f.lookup("registry-1.docker.io").unwrap().unwrap().username, "alice");
    assert_eq!(f.lookup("r.lan:5000").unwrap().unwrap().password, "secret");
    assert_eq!(f.lookup("other.io").unwrap(), None);
    // The helper is looked for on PATH: missing, it is a clear error naming it.
    let e = f.lookup("helped.io").unwrap_err().to_string();
    assert!(e.contains("docker-credential-nsboxtest"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
