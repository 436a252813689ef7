//! Wording shared by the messages of every crate.

/// `1 file`, `3 files`: a count with its noun, plural by adding `s`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `text` wrapped in an SGR sequence when `on` (`1;31` bold red, `1` bold): both binaries
/// colour only for a terminal, and decide that themselves.
pub fn paint(text: &str, sgr: &str, on: bool) -> String {
    if on {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn singular_only_for_one() {
        assert_eq!(super::count(0, "file"), "0 files");
        assert_eq!(super::count(1, "file"), "1 file");
        assert_eq!(super::count(2, "change"), "2 changes");
    }
}
