//! Cases from docker's own normalize tests (distribution/reference) plus the edges of each rule.

use super::*;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn norm(s: &str) -> String {
    Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
}

#[test]
fn normalizes_like_docker() {
    let cases = [
        ("alpine", "docker.io/library/alpine:latest"),
        ("alpine:3.20", "docker.io/library/alpine:3.20"),
        ("library/alpine", "docker.io/library/alpine:latest"),
        ("docker.io/alpine", "docker.io/library/alpine:latest"),
        ("index.docker.io/alpine:1", "docker.io/library/alpine:1"),
        ("team/app", "docker.io/team/app:latest"),
        ("docker.io/team/sub/app:x", "docker.io/team/sub/app:x"),
        ("host:5000/team/app:1.4", "host:5000/team/app:1.4"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t"),
        ("[::1]:5000/app:v", "[::1]:5000/app:v"),
        ("quay.io/a-b__c.d/e--f:T_1.x-y", "quay.io/a-b__c.d/e--f:T_1.x-y"),
        ("Quay.io/app", "Quay.io/app:latest"),
    ];
    for (input, want) in cases {
        assert_eq!(norm(input), want, "{input}");
    }
}

#[test]
fn digests_and_tag_plus_digest() {
    let r = Reference::parse(&format!("alpine@{D}")).unwrap();
    assert_eq!(r.tag, None);
    assert_eq!(r.manifest_ref(), D);
    assert_eq!(r.to_string(), format!("docker.io/library/alpine@{D}"));
    let both = Reference::parse(&format!("h:1/a:3@{D}")).unwrap();
    assert_eq!(both.tag.as_deref(), Some("3"));
    assert_eq!(both.manifest_ref(), D, "the digest wins over the tag, as in docker");
    assert!(matches!(Reference::parse("a@sha512:abcd"), Err(ReferenceError::DigestAlgorithm { .. })));
    assert!(matches!(Reference::parse("a@sha256:abcd"), Err(ReferenceError::DigestFormat { .. })));
    assert!(matches!(Reference::parse("a@sha256"), Err(ReferenceError::Format(_))));
}

#[test]
fn refuses_with_dockers_messages() {
    for bad in ["", ":tag", "a:", "/a", "a/", "a//b", "-a", "a-", "a..b", "a._b", "a___b", "a:t t", "a:-t", "h:x/a", "h:/a", "a@", "[::1/a", "a b"] {
        let e = Reference::parse(bad).expect_err(bad);
        assert!(e.to_string().starts_with("invalid reference format"), "{bad}: {e}");
    }
    assert_eq!(
        Reference::parse("Alpine").unwrap_err().to_string(),
        "invalid reference format: repository name (library/Alpine) must be lowercase"
    );
    assert!(matches!(Reference::parse("host:5000/Team/app"), Err(ReferenceError::Uppercase(_))));
    assert!(matches!(Reference::parse(&"a".repeat(256)), Err(ReferenceError::TooLong(_))));
    assert!(matches!(Reference::parse(&D[7..]), Err(ReferenceError::HexName(_))));
    assert!(Reference::parse(&format!("a:{}", "t".repeat(128))).is_ok());
    assert!(Reference::parse(&format!("a:{}", "t".repeat(129))).is_err());
}

#[test]
fn familiar_and_api_host() {
    let f = |s: &str| Reference::parse(s).unwrap().familiar();
    assert_eq!(f("alpine"), "alpine:latest");
    assert_eq!(f("docker.io/library/a/b:1"), "library/a/b:1");
    assert_eq!(f("team/app:1"), "team/app:1");
    assert_eq!(f("h:5000/app"), "h:5000/app:latest");
    assert_eq!(Reference::parse("alpine").unwrap().api_host(), DOCKER_HUB_API);
    assert_eq!(Reference::parse("h:5000/app").unwrap().api_host(), "h:5000");
}

/// Property: whatever parses, its normalized string parses again to the same reference.
#[test]
fn normalizing_is_idempotent() {
    let parts = ["a", "a-b", "a__b", "x.y", "0", "lib/x", "h.io/x", "h:1/x/y", "localhost/x", "[::1]:1/x"];
    let suffixes = ["", ":t", ":1.0-rc_1", "@D", ":t@D"];
    for p in parts {
        for s in suffixes {
            let input = format!("{p}{}", s.replace('D', D));
            let once = Reference::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let twice = Reference::parse(&once.to_string()).unwrap();
            assert_eq!(once, twice, "{input}");
        }
    }
    // A random walk over the alphabet must never panic, only accept or refuse.
    let alphabet = b"aZ09-_.:/@[]";
    let mut seed = 0x2545_f491_u64;
    for _ in 0..20_000 {
        let len = (seed % 12) as usize;
        let s: String = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize] as char
            })
            .collect();
        if let Ok(r) = Reference::parse(&s) {
            assert_eq!(Reference::parse(&r.to_string()).unwrap(), r, "{s}");
        }
    }
}
