//! A value too long for one cookie, carried in several: under its own name when it fits one
//! cookie, else as numbered chunks `<name>.0`, `<name>.1`, ... (at most [`MAX_CHUNKS`]), each
//! `Set-Cookie` within 4,096 bytes with its name and attributes. Auth.js splits its session
//! cookie the same way.
//!
//! The value is sealed whole before it is split (the caller's job), so the chunks vouch for
//! each other: a chunk tampered with, moved, dropped, added or taken from another value makes
//! the joined value fail to open. Reading is strict all the same, and bounded: a name of the
//! set carried twice, the whole name beside chunks, a gap in the numbers, a value that is not
//! visible ASCII, or more than [`MAX_CHUNKED_LEN`] bytes is [`Chunks::Bad`]. Names that only
//! look like chunks (`<name>.x`, `<name>.01`, `<name>.8` and up) are not the layer's and are
//! left alone.

use http::HeaderMap;

use super::cookies::{for_each_pair, is_visible_ascii, MAX_COOKIE_LEN};

/// The most chunks a value is split into, and read from.
pub(crate) const MAX_CHUNKS: usize = 8;

/// The most bytes read from one set of chunks.
pub(crate) const MAX_CHUNKED_LEN: usize = MAX_CHUNKS * MAX_COOKIE_LEN;

/// What a request carries under one chunked name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Chunks {
    /// Nothing.
    None,
    /// The value, joined from its chunks (or the one cookie).
    One(String),
    /// Something that is not one well-formed set: no value is trusted.
    Bad,
}

/// Which of a chunked value's cookie names a request carried: the whole name, and chunks
/// `0..MAX_CHUNKS`. What a rewrite or a logout clears.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Carried {
    whole: bool,
    /// Bit `i`: chunk `i`.
    chunks: u16,
}

impl Carried {
    /// Whether the request carried any of the names.
    pub(crate) fn any(self) -> bool {
        self.whole || self.chunks != 0
    }

    /// The names carried, `base` for the whole value and `base.<i>` for chunk `i`.
    pub(crate) fn names(self, base: &str) -> impl Iterator<Item = String> + '_ {
        let whole = self.whole.then(|| base.to_owned());
        let chunks = (0..MAX_CHUNKS)
            .filter(move |i| self.chunks & (1 << i) != 0)
            .map(move |i| chunk_name(base, i));
        whole.into_iter().chain(chunks)
    }
}

/// The name of chunk `index` of the value named `base`.
pub(crate) fn chunk_name(base: &str, index: usize) -> String {
    format!("{base}.{index}")
}

/// The chunk index a cookie name gives under `base`: `Some(None)` for `base` itself,
/// `Some(Some(i))` for `base.<i>` (`i` in canonical decimal, below [`MAX_CHUNKS`]), `None`
/// for any other name.
fn index_of(name: &[u8], base: &str) -> Option<Option<usize>> {
    let rest = name.strip_prefix(base.as_bytes())?;
    if rest.is_empty() {
        return Some(None);
    }
    match rest {
        [b'.', digit] if digit.is_ascii_digit() => {
            let index = usize::from(digit - b'0');
            (index < MAX_CHUNKS).then_some(Some(index))
        }
        _ => None,
    }
}

/// Reads the value named `base` from a request's `Cookie` headers, and which of its names
/// the request carried.
pub(crate) fn read(headers: &HeaderMap, base: &str) -> (Chunks, Carried) {
    let mut whole: Option<&[u8]> = None;
    let mut parts: [Option<&[u8]>; MAX_CHUNKS] = [None; MAX_CHUNKS];
    let mut carried = Carried::default();
    let mut bad = false;
    let mut total = 0usize;
    for_each_pair(headers, |name, value| {
        let Some(index) = index_of(name, base) else {
            return;
        };
        total = total.saturating_add(value.len());
        bad |= !is_visible_ascii(value) || total > MAX_CHUNKED_LEN;
        let slot = match index {
            None => {
                carried.whole = true;
                &mut whole
            }
            Some(index) => {
                carried.chunks |= 1 << index;
                match parts.get_mut(index) {
                    Some(slot) => slot,
                    None => return,
                }
            }
        };
        // A name carried twice: cookie tossing, or a stale cookie on another path.
        bad |= slot.replace(value).is_some();
    });
    let count = parts.iter().take_while(|part| part.is_some()).count();
    let gap = parts.iter().skip(count).any(Option::is_some);
    let found = match (whole, count) {
        _ if bad || gap => Chunks::Bad,
        (Some(_), 1..) => Chunks::Bad,
        (Some(value), 0) => joined(&[value]),
        (None, 0) => Chunks::None,
        (None, _) => {
            let present: Vec<&[u8]> = parts.iter().map_while(|part| *part).collect();
            joined(&present)
        }
    };
    (found, carried)
}

fn joined(parts: &[&[u8]]) -> Chunks {
    let bytes = parts.concat();
    match String::from_utf8(bytes) {
        Ok(value) if !value.is_empty() => Chunks::One(value),
        _ => Chunks::Bad,
    }
}

/// `value` cut for cookies under `base`: `[(base, value)]` when `base=value` plus
/// `attributes` bytes fits in 4,096 bytes, else `[(base.0, ..), (base.1, ..), ...]`, each
/// chunk's `Set-Cookie` (name, value and `attributes` bytes of attributes) within 4,096 bytes.
/// `None` when that takes more than [`MAX_CHUNKS`] chunks, or `value` is not ASCII (sealed
/// values are base64).
pub(crate) fn split<'v>(
    base: &str,
    value: &'v str,
    attributes: usize,
) -> Option<Vec<(String, &'v str)>> {
    if !value.is_ascii() {
        return None;
    }
    if base.len() + 1 + value.len() + attributes <= MAX_COOKIE_LEN {
        return Some(vec![(base.to_owned(), value)]);
    }
    // Every chunk name is as long as `base.0`: fewer than ten chunks.
    let room = MAX_COOKIE_LEN.checked_sub(base.len() + ".0=".len() + attributes)?;
    if room == 0 || value.len().div_ceil(room) > MAX_CHUNKS {
        return None;
    }
    let mut chunks = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(room.min(rest.len()));
        chunks.push((chunk_name(base, chunks.len()), chunk));
        rest = after;
    }
    Some(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderValue, COOKIE};

    const BASE: &str = "__Host-t";

    fn headers(cookie: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.append(COOKIE, HeaderValue::from_str(cookie).unwrap());
        map
    }

    fn cookie_header(parts: &[(String, &str)]) -> String {
        let pairs: Vec<String> = parts.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    #[test]
    fn a_value_that_fits_is_one_cookie_under_its_own_name() {
        let parts = split(BASE, "abc", 80).unwrap();
        assert_eq!(parts, [(BASE.to_owned(), "abc")]);
        let (found, carried) = read(&headers("x=1; __Host-t=abc"), BASE);
        assert_eq!(found, Chunks::One("abc".into()));
        assert_eq!(carried.names(BASE).collect::<Vec<_>>(), [BASE]);
    }

    #[test]
    fn a_long_value_is_split_into_cookies_within_4096_bytes_and_joined_back() {
        let value: String = (0..10_000)
            .map(|i| (b'A' + (i % 26) as u8) as char)
            .collect();
        let parts = split(BASE, &value, 80).unwrap();
        assert_eq!(parts.len(), 3);
        for (i, (name, part)) in parts.iter().enumerate() {
            assert_eq!(name, &format!("{BASE}.{i}"));
            assert!(name.len() + 1 + part.len() + 80 <= 4096);
        }
        let (found, carried) = read(&headers(&cookie_header(&parts)), BASE);
        assert_eq!(found, Chunks::One(value));
        assert_eq!(carried.names(BASE).count(), 3);
        assert!(split(BASE, &"A".repeat(MAX_CHUNKED_LEN), 80).is_none());
        assert!(split(BASE, "café", 80).is_none());
    }

    #[test]
    fn an_ill_formed_set_is_bad_and_others_names_are_not_ours() {
        for cookie in [
            "__Host-t.0=a; __Host-t.2=c", // a gap
            "__Host-t.1=b",               // no chunk 0
            "__Host-t=a; __Host-t.0=a",   // whole and chunks
            "__Host-t.0=a; __Host-t.0=b", // twice
            "__Host-t=a; __Host-t=a",     // twice
            "__Host-t.0=a b",             // not visible ASCII
        ] {
            assert_eq!(read(&headers(cookie), BASE).0, Chunks::Bad, "{cookie}");
        }
        let (found, carried) = read(
            &headers("__Host-t.x=1; __Host-t.01=2; __Host-t.8=3; __Host-tt=4"),
            BASE,
        );
        assert_eq!((found, carried.any()), (Chunks::None, false));
    }

    #[test]
    fn the_reader_stops_at_its_byte_cap() {
        let big = "A".repeat(4000);
        let pairs: Vec<String> = (0..MAX_CHUNKS)
            .map(|i| format!("{BASE}.{i}={big}"))
            .collect();
        let (found, _) = read(&headers(&pairs.join("; ")), BASE);
        assert!(matches!(found, Chunks::One(v) if v.len() == 4000 * MAX_CHUNKS));
        let over = format!("{}; {BASE}.7={}", pairs[..7].join("; "), "A".repeat(5000));
        assert_eq!(read(&headers(&over), BASE).0, Chunks::Bad);
    }
}
