//! docker-style generated names (`adjective_scientist`), random per call.

const LEFT: [&str; 32] = [
    "admiring", "agitated", "amazing", "bold", "brave", "busy", "clever", "cool", "dazzling", "eager", "elegant", "epic",
    "focused", "gallant", "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty", "optimistic", "peaceful",
    "quirky", "relaxed", "serene", "sharp", "stoic", "tender", "vibrant", "zealous",
];
const RIGHT: [&str; 32] = [
    "albattani", "babbage", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "fermat", "feynman", "gauss",
    "goodall", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace", "meitner", "newton", "noether",
    "pasteur", "ritchie", "shannon", "tesla", "thompson", "turing", "volhard", "wozniak", "wu", "yalow",
];

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n == 4 { u32::from_ne_bytes(b) } else { std::process::id() ^ (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)) }
}

/// After many collisions (`attempt` ≥ 16) a number is appended, as docker does.
pub fn generate(attempt: u32) -> String {
    let r = random_u32();
    let base = format!("{}_{}", LEFT[(r & 31) as usize], RIGHT[((r >> 5) & 31) as usize]);
    if attempt < 16 { base } else { format!("{base}{}", (r >> 10) % 1000) }
}
