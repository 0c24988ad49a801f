//! PLACEHOLDER, to be replaced by reference.rs (branch imgpull) at merge: docker's short-name rule,
//! just enough for the store's own commands (`busybox` → `docker.io/library/busybox:latest`,
//! `localhost/x` → `localhost/x:latest`). No validation beyond what the store needs.

pub fn normalize(r: &str) -> String {
    let (name, suffix) = match r.find('@') {
        Some(at) => (&r[..at], &r[at..]),
        None => (r, ""),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let mut out = match name.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => name.to_owned(),
        Some(_) => format!("docker.io/{name}"),
        None => format!("docker.io/library/{name}"),
    };
    if suffix.is_empty() && !last.contains(':') {
        out.push_str(":latest");
    }
    out + suffix
}

/// `docker.io/library/busybox:latest` → (`docker.io/library/busybox`, `latest`), for listings.
pub fn split_tag(name: &str) -> (&str, &str) {
    let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    match name[last_slash..].rfind(':') {
        Some(c) => (&name[..last_slash + c], &name[last_slash + c + 1..]),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        assert_eq!(normalize("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(normalize("team/app:1"), "docker.io/team/app:1");
        assert_eq!(normalize("localhost/nsbox-test/busybox"), "localhost/nsbox-test/busybox:latest");
        assert_eq!(normalize("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
        assert_eq!(split_tag("127.0.0.1:5000/app:1.4"), ("127.0.0.1:5000/app", "1.4"));
    }
}
