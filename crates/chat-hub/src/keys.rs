//! Lookups by nick or room name in any case, without an allocation: the
//! name is lowered into a buffer on the stack (names are short: a nick at
//! most 24 bytes, a room 32), so a line that names its room or a nick
//! (an IRC `PRIVMSG`) costs no allocation to route.

/// Names longer than this are lowered on the heap (they are invalid
/// anyway, and only looked up to be refused).
const STACK_BYTES: usize = 64;

/// Calls `f` with `name` in ASCII lower case.
pub(crate) fn lowered<R>(name: &str, f: impl FnOnce(&str) -> R) -> R {
    if name.len() > STACK_BYTES {
        return f(&name.to_ascii_lowercase());
    }
    let mut bytes = [0u8; STACK_BYTES];
    let lowered = &mut bytes[..name.len()];
    lowered.copy_from_slice(name.as_bytes());
    lowered.make_ascii_lowercase();
    // ASCII case changes keep UTF-8 valid.
    f(std::str::from_utf8(lowered).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowered_on_the_stack_or_the_heap_alike() {
        assert_eq!(lowered("AlIcE", str::to_owned), "alice");
        let long = "X".repeat(100);
        assert_eq!(lowered(&long, str::to_owned), "x".repeat(100));
        assert_eq!(
            lowered("Ünïcode", str::to_owned),
            "Ünïcode".to_ascii_lowercase()
        );
    }
}
