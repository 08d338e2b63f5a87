//! dolma's character repetitions (`repetitions_v1`, `paragraph_repetitions_v1`): exactly what Python's
//! `re.finditer(r"(.+?)(\s?\1){3,}", text)` finds, in O(n log n) instead of the regex's O(n^2) per line.
//!
//! Regex semantics, over code points: the search tries start positions left to right. At `i`, the match uses the
//! shortest unit `u = text[i..i+l]` (no '\n': `.` excludes it) that is followed by three more copies, each
//! optionally preceded by one whitespace character (`str.isspace()`, '\n' included). The first three copies are
//! found by backtracking ("whitespace then copy" is tried before "copy"), later copies greedily with the same
//! preference. The next search starts at the match end. Score: `str.count(u)` over the match.
//!
//! Algorithm. A match at `i` with unit length `l` starts `u s1 u` (`s1` empty or one whitespace), so the text
//! from `i` has period `l` for `2l` characters, or period `l + 1` for `2l + 1` characters. Main and Lorentz's
//! divide and conquer reports, in O(n log n), every maximal stretch of the text with some period `p` and length at
//! least `2p - 1`, for every `p` (each split compares characters directly while that stays cheap, as on ordinary
//! text, and otherwise uses Z-functions); each stretch yields the candidate starts for unit lengths `p` and
//! `p - 1`. Candidates are tested by increasing length, skipping positions already decided with a union-find, each
//! test comparing substrings in O(1) with polynomial hashes (a collision can only accept too much, never reject).
//! Inside a long periodic stretch every position is decided by its period, so multiples of the period cost
//! nothing. The final left-to-right scan recomputes each match with direct comparisons, so output never depends
//! on hashing.

use std::cmp::min;

use crate::pyunicode::is_space;

const NEWLINE: u32 = '\n' as u32;
/// Separator in Z-function concatenations; above every code point.
const CONCAT_SEPARATOR: u32 = u32::MAX;
/// Units up to this length are compared directly, longer ones through their hashes.
const DIRECT_COMPARE_MAX: usize = 16;

/// One regex match: `text[start..end]`, its unit `text[start..start + period]`, and `count` = `str.count(unit)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repetition {
    pub start: usize,
    pub end: usize,
    pub period: usize,
    pub count: usize,
}

/// Matches of dolma's repetition regex in `text` (code points). `per_paragraph` runs it on each '\n'-terminated
/// paragraph instead of the whole text (`paragraph_repetitions_v1`), so no match crosses a newline.
pub fn char_repetitions(text: &[u32], per_paragraph: bool) -> Vec<Repetition> {
    if !per_paragraph {
        return Search::new(text).run();
    }
    let mut out = Vec::new();
    let mut start = 0;
    // A paragraph's trailing '\n' can never be part of a match (no unit follows it), so it is left out.
    for line in text.split(|&c| c == NEWLINE) {
        out.extend(Search::new(line).run().into_iter().map(|r| Repetition {
            start: r.start + start,
            end: r.end + start,
            ..r
        }));
        start += line.len() + 1;
    }
    out
}

#[inline]
fn is_whitespace(c: u32) -> bool {
    char::from_u32(c).is_some_and(is_space)
}

/// One text's search state.
struct Search<'t> {
    text: &'t [u32],
    /// Whether each character is whitespace (`\s`, which may precede a copy).
    space: Vec<bool>,
    /// Position of the first '\n' at or after each position (`len` when none): units end there at the latest.
    line_end: Vec<u32>,
    hashes: Option<PolyHash>,
}

impl<'t> Search<'t> {
    fn new(text: &'t [u32]) -> Self {
        assert!(text.len() < u32::MAX as usize / 2, "text too long for u32 offsets");
        let space = text.iter().map(|&c| is_whitespace(c)).collect();
        let mut line_end = vec![0u32; text.len()];
        let mut end = text.len() as u32;
        for k in (0..text.len()).rev() {
            if text[k] == NEWLINE {
                end = k as u32;
            }
            line_end[k] = end;
        }
        Search { text, space, line_end, hashes: None }
    }

    fn run(mut self) -> Vec<Repetition> {
        let shortest = self.shortest_units();
        let n = self.text.len();
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            let candidate = shortest[i] as usize;
            let found = if candidate == 0 { None } else { self.exact_match(i, candidate) };
            match found {
                Some((end, period)) => {
                    let unit = &self.text[i..i + period];
                    let count = count_occurrences(&self.text[i..end], unit);
                    out.push(Repetition { start: i, end, period, count });
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }

    /// The match at `i` given that no unit shorter than `candidate` matches: `candidate` itself, or (after a hash
    /// collision made it look like a match) the next longer unit that really matches.
    fn exact_match(&self, i: usize, candidate: usize) -> Option<(usize, usize)> {
        let longest = (self.line_end[i] as usize - i).min((self.text.len() - i) / 4);
        (candidate..=longest).find_map(|l| self.match_end(i, l).map(|end| (end, l)))
    }

    /// Per position, the shortest unit length for which three more copies follow (0: none). Exact whenever no
    /// hash collision occurred; otherwise possibly too short, which `exact_match` corrects.
    fn shortest_units(&mut self) -> Vec<u32> {
        let n = self.text.len();
        let mut candidates: Vec<(u32, u32, u32)> = Vec::new();
        let mut push = |l: usize, lo: usize, hi: usize| {
            // a match spans at least 4 units
            if l >= 1 && 4 * l <= n && lo <= hi.min(n - 4 * l) {
                candidates.push((l as u32, lo as u32, hi.min(n - 4 * l) as u32));
            }
        };
        for rep in maximal_repetitions(self.text) {
            let (a, b, p) = (rep.start, rep.end, rep.period);
            if b - a >= 2 * p {
                push(p, a, b - 2 * p); // `u u`: period p over 2p characters
            }
            push(p - 1, a, b + 1 - 2 * p); // `u s u`: period p over 2p - 1 characters
        }
        candidates.sort_unstable();
        if candidates.iter().any(|c| c.0 as usize > DIRECT_COMPARE_MAX) {
            self.hashes = Some(PolyHash::new(self.text));
        }

        let mut shortest = vec![0u32; n];
        let mut undecided = Undecided::new(n);
        for &(l, lo, hi) in &candidates {
            let (l, hi) = (l as usize, hi as usize);
            let mut i = undecided.next(lo as usize);
            while i <= hi {
                if self.plausible(i, l) && self.three_copies(i, l, i + l, 0) {
                    shortest[i] = l as u32;
                    undecided.remove(i);
                }
                i = undecided.next(i + 1);
            }
        }
        shortest
    }

    /// Cheap necessary conditions for unit length `l` at `i`: no newline in the unit, and the next copy starts
    /// right after it or after one whitespace.
    #[inline]
    fn plausible(&self, i: usize, l: usize) -> bool {
        let t = self.text;
        i + l <= self.line_end[i] as usize
            && (t[i + l] == t[i] || (self.space[i + l] && t.get(i + l + 1) == Some(&t[i])))
    }

    /// Whether `3 - depth` more copies of `text[i..i+l]` follow `pos` (each optionally after one whitespace).
    fn three_copies(&self, i: usize, l: usize, pos: usize, depth: u32) -> bool {
        if depth == 3 {
            return true;
        }
        (self.space.get(pos) == Some(&true)
            && self.same(i, pos + 1, l)
            && self.three_copies(i, l, pos + 1 + l, depth + 1))
            || (self.same(i, pos, l) && self.three_copies(i, l, pos + l, depth + 1))
    }

    /// `text[i..i+l] == text[j..j+l]`, by hash for long units (may be wrong when true, never when false).
    #[inline]
    fn same(&self, i: usize, j: usize, l: usize) -> bool {
        if j + l > self.text.len() {
            return false;
        }
        match &self.hashes {
            Some(h) if l > DIRECT_COMPARE_MAX => h.get(i, l) == h.get(j, l),
            _ => self.text[i..i + l] == self.text[j..j + l],
        }
    }

    /// End of the regex match at `i` with unit length `l`, if any, by direct comparison and in the regex's order.
    fn match_end(&self, i: usize, l: usize) -> Option<usize> {
        let mut pos = self.first_three(i, l, i + l, 0)?;
        while let Some(next) = self.next_copy(i, l, pos).next() {
            pos = next;
        }
        Some(pos)
    }

    /// Backtracking over the three required copies; returns where the third one ends on the first path found.
    fn first_three(&self, i: usize, l: usize, pos: usize, depth: u32) -> Option<usize> {
        if depth == 3 {
            return Some(pos);
        }
        self.next_copy(i, l, pos).find_map(|next| self.first_three(i, l, next, depth + 1))
    }

    /// Ends of a copy of `text[i..i+l]` right after `pos`: after one whitespace first, then without.
    fn next_copy(&self, i: usize, l: usize, pos: usize) -> impl Iterator<Item = usize> + '_ {
        let t = self.text;
        let unit = &t[i..i + l];
        let copy_at = move |p: usize| p + l <= t.len() && &t[p..p + l] == unit;
        let spaced = self.space.get(pos) == Some(&true) && copy_at(pos + 1);
        let direct = copy_at(pos);
        [spaced.then_some(pos + 1 + l), direct.then_some(pos + l)].into_iter().flatten()
    }
}

/// Positions not yet given a shortest unit, skipped over in near-constant time (union-find with path halving).
struct Undecided {
    next: Vec<u32>,
}

impl Undecided {
    fn new(n: usize) -> Self {
        Undecided { next: (0..=n as u32).collect() }
    }

    /// The first undecided position at or after `i` (`n` when none).
    fn next(&mut self, mut i: usize) -> usize {
        while self.next[i] as usize != i {
            let parent = self.next[i] as usize;
            self.next[i] = self.next[parent];
            i = parent;
        }
        i
    }

    fn remove(&mut self, i: usize) {
        self.next[i] = i as u32 + 1;
    }
}

/// Polynomial prefix hashes modulo the Mersenne prime 2^61 - 1, for O(1) substring comparison.
struct PolyHash {
    prefix: Vec<u64>,
    power: Vec<u64>,
}

const MERSENNE_61: u64 = (1 << 61) - 1;
const HASH_BASE: u64 = 0x0a3c_59f2_6e1d_8b47;

#[inline]
fn mul_mod(a: u64, b: u64) -> u64 {
    let product = a as u128 * b as u128;
    let sum = (product as u64 & MERSENNE_61) + (product >> 61) as u64;
    if sum >= MERSENNE_61 {
        sum - MERSENNE_61
    } else {
        sum
    }
}

impl PolyHash {
    fn new(text: &[u32]) -> Self {
        let mut prefix = Vec::with_capacity(text.len() + 1);
        let mut power = Vec::with_capacity(text.len() + 1);
        let (mut h, mut p) = (0u64, 1u64);
        prefix.push(h);
        power.push(p);
        for &c in text {
            h = mul_mod(h, HASH_BASE) + c as u64 + 1;
            if h >= MERSENNE_61 {
                h -= MERSENNE_61;
            }
            p = mul_mod(p, HASH_BASE);
            prefix.push(h);
            power.push(p);
        }
        PolyHash { prefix, power }
    }

    #[inline]
    fn get(&self, start: usize, len: usize) -> u64 {
        let shifted = mul_mod(self.prefix[start], self.power[len]);
        let h = self.prefix[start + len] + MERSENNE_61 - shifted;
        if h >= MERSENNE_61 {
            h - MERSENNE_61
        } else {
            h
        }
    }
}

/// A maximal repetition: `s[start..end]` has period `period`, is at least `max(2 * period - 1, 2)` long, and
/// extends neither way with that period. Periods need not be the smallest: `aaaa` is reported with 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct MaximalRepetition {
    start: usize,
    end: usize,
    period: usize,
}

/// Every maximal repetition of `s`, for every period, in O(n log n) plus output (Main & Lorentz): each one is
/// reported at the first split point of the recursion that falls inside it, where it lies within the segment.
/// There are O(n) of them (their exponents are at least 3/2 when the period is 2 or more).
fn maximal_repetitions(s: &[u32]) -> Vec<MaximalRepetition> {
    maximal_repetitions_budgeted(s, DIRECT_COMPARISONS_PER_CHAR)
}

/// Character comparisons per segment character that a split may spend comparing directly before it is redone
/// with Z-functions. Direct comparison is several times faster on ordinary text, where almost every period
/// fails at the first character; Z-functions keep periodic text linear per recursion level.
const DIRECT_COMPARISONS_PER_CHAR: usize = 8;

fn maximal_repetitions_budgeted(s: &[u32], comparisons_per_char: usize) -> Vec<MaximalRepetition> {
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    let mut segments = vec![(0, s.len())];
    while let Some((lo, hi)) = segments.pop() {
        if hi - lo < 2 {
            continue;
        }
        let m = lo + (hi - lo) / 2;
        let reported = out.len();
        if !crossing_direct(s, lo, m, hi, comparisons_per_char.saturating_mul(hi - lo), &mut out) {
            out.truncate(reported);
            crossing_z(s, lo, m, hi, &mut scratch, &mut out);
        }
        segments.push((m, hi));
        segments.push((lo, m));
    }
    out
}

#[derive(Default)]
struct Scratch {
    concat: Vec<u32>,
    forward: Vec<u32>,
    backward: Vec<u32>,
}

/// Records `s[start..end]` with period `p` if it is long enough and maximal in all of `s`.
#[inline]
fn report(s: &[u32], start: usize, end: usize, p: usize, out: &mut Vec<MaximalRepetition>) {
    let maximal = (start == 0 || s[start - 1] != s[start - 1 + p]) && (end == s.len() || s[end] != s[end - p]);
    if maximal && end - start >= (2 * p - 1).max(2) {
        out.push(MaximalRepetition { start, end, period: p });
    }
}

// Both `crossing_*` functions report the maximal repetitions of `s[lo..hi]` that contain `s[m - 1]` and `s[m]`.
// With period p, "s[x] == s[x + p]" holds on a stretch of x; the repetition is the stretch plus p characters.
// Left-centred: the stretch contains m - p (the repetition starts at or before m - p). Right-centred: the
// repetition starts after m - p, so its stretch begins before m and contains m, or ends right before m (then the
// repetition is exactly 2p - 1 long).

/// The crossing repetitions by direct comparison; false (with partial output) once `budget` comparisons are spent.
fn crossing_direct(s: &[u32], lo: usize, m: usize, hi: usize, budget: usize, out: &mut Vec<MaximalRepetition>) -> bool {
    let common_prefix = |x: usize, y: usize, cap: usize| (0..cap).position(|k| s[x + k] != s[y + k]).unwrap_or(cap);
    let common_suffix =
        |x: usize, y: usize, cap: usize| (0..cap).position(|k| s[x - 1 - k] != s[y - 1 - k]).unwrap_or(cap);
    let mut spent = hi - lo;
    // left-centred periods p = m - x need s[x] == s[m]
    let within_budget = for_each_equal(&s[lo..m], s[m], |x| {
        let p = m - (lo + x);
        let head = common_prefix(m - p, m, p.min(hi - m));
        let forward = if head == p && m + p < hi { p + common_prefix(m, m + p, hi - m - p) } else { head };
        let backward = common_suffix(m - p, m, m - p - lo);
        spent += forward + backward;
        report(s, m - p - backward, m + forward, p, out);
        spent <= budget
    });
    // right-centred periods p = y + 1 need s[m + y] == s[m - 1]
    within_budget
        && for_each_equal(&s[m..hi], s[m - 1], |y| {
            let p = y + 1;
            let backward = common_suffix(m, m + p, p.min(m - lo));
            let forward = if backward < p && m + p < hi { common_prefix(m, m + p, hi - m - p) } else { 0 };
            spent += forward + backward;
            if backward < p && (forward > 0 || backward == p - 1) {
                report(s, m - backward, m + forward + p, p, out);
            }
            spent <= budget
        })
}

/// Calls `visit` with each index of `hay` holding `target`, in increasing order, until it returns false; returns
/// whether it never did. Compares 16 characters at a time, which the compiler vectorizes.
#[inline]
fn for_each_equal(hay: &[u32], target: u32, mut visit: impl FnMut(usize) -> bool) -> bool {
    const LANES: usize = 16;
    let chunks = hay.chunks_exact(LANES);
    let tail = chunks.remainder();
    for (c, chunk) in chunks.enumerate() {
        let mut mask = chunk.iter().enumerate().fold(0u32, |m, (j, &ch)| m | (u32::from(ch == target) << j));
        while mask != 0 {
            if !visit(c * LANES + mask.trailing_zeros() as usize) {
                return false;
            }
            mask &= mask - 1;
        }
    }
    let base = hay.len() - tail.len();
    (0..tail.len()).filter(|&j| tail[j] == target).all(|j| visit(base + j))
}

/// The crossing repetitions in O(hi - lo) with two Z-functions.
fn crossing_z(s: &[u32], lo: usize, m: usize, hi: usize, scratch: &mut Scratch, out: &mut Vec<MaximalRepetition>) {
    let (u, v) = (&s[lo..m], &s[m..hi]);
    let (nu, nv) = (u.len(), v.len());
    // forward = Z(v # u): [k] = lcp(v[k..], v) for k < nv; [nv + 1 + x] = lcp(u[x..], v).
    scratch.concat.clear();
    scratch.concat.extend_from_slice(v);
    scratch.concat.push(CONCAT_SEPARATOR);
    scratch.concat.extend_from_slice(u);
    z_function(&scratch.concat, &mut scratch.forward);
    // backward = Z(rev(u) # rev(v)): [k] = common suffix of u[..nu-k] and u; [nu + 1 + y] = common suffix of
    // v[..nv-y] and u.
    scratch.concat.clear();
    scratch.concat.extend(u.iter().rev());
    scratch.concat.push(CONCAT_SEPARATOR);
    scratch.concat.extend(v.iter().rev());
    z_function(&scratch.concat, &mut scratch.backward);
    let (fw, bw) = (&scratch.forward, &scratch.backward);

    for p in 1..=nu {
        let head = fw[nv + 1 + nu - p] as usize; // s[m-p..] vs s[m..], at most p
        if head == 0 {
            continue;
        }
        let forward = if head == p && p < nv { p + fw[p] as usize } else { head };
        let backward = if p < nu { bw[p] as usize } else { 0 };
        report(s, m - p - backward, m + forward, p, out);
    }
    for p in 1..=nv {
        let backward = bw[nu + 1 + nv - p] as usize; // s[..m] vs s[..m+p], at most p
        if backward == 0 || backward == p {
            continue;
        }
        let forward = if p < nv { fw[p] as usize } else { 0 }; // s[m..] vs s[m+p..]
        if forward > 0 || backward == p - 1 {
            report(s, m - backward, m + forward + p, p, out);
        }
    }
}

/// Z-function: `z[k]` = length of the longest common prefix of `s` and `s[k..]` (`z[0] = len`).
fn z_function(s: &[u32], z: &mut Vec<u32>) {
    let n = s.len();
    z.clear();
    z.resize(n, 0);
    if n == 0 {
        return;
    }
    z[0] = n as u32;
    let (mut left, mut right) = (0usize, 0usize);
    for k in 1..n {
        let mut len = if k < right { min(z[k - left] as usize, right - k) } else { 0 };
        if k + len >= right {
            while k + len < n && s[len] == s[k + len] {
                len += 1;
            }
            if k + len > right {
                left = k;
                right = k + len;
            }
        }
        z[k] = len as u32;
    }
}

/// Non-overlapping occurrences of `needle` in `haystack`, leftmost first (Python's `str.count`), via KMP.
fn count_occurrences(haystack: &[u32], needle: &[u32]) -> usize {
    let m = needle.len();
    let mut failure = vec![0usize; m];
    let mut k = 0;
    for q in 1..m {
        while k > 0 && needle[q] != needle[k] {
            k = failure[k - 1];
        }
        if needle[q] == needle[k] {
            k += 1;
        }
        failure[q] = k;
    }
    let (mut count, mut matched) = (0, 0);
    for &c in haystack {
        while matched > 0 && c != needle[matched] {
            matched = failure[matched - 1];
        }
        if c == needle[matched] {
            matched += 1;
        }
        if matched == m {
            count += 1;
            matched = 0; // non-overlapping: restart after the occurrence
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cps(s: &str) -> Vec<u32> {
        s.chars().map(|c| c as u32).collect()
    }

    /// The regex, transcribed: `(.+?)` shortest first, then `(\s?\1){3,}` greedy with backtracking.
    fn reference(t: &[u32]) -> Vec<Repetition> {
        fn repeats(t: &[u32], i: usize, l: usize, pos: usize, count: usize) -> Option<usize> {
            for skip in [1, 0] {
                if skip == 1 && !(pos < t.len() && is_whitespace(t[pos])) {
                    continue;
                }
                let p = pos + skip;
                if p + l <= t.len() && t[p..p + l] == t[i..i + l] {
                    if let Some(end) = repeats(t, i, l, p + l, count + 1) {
                        return Some(end);
                    }
                }
            }
            (count >= 3).then_some(pos)
        }
        let mut out = Vec::new();
        let mut i = 0;
        'scan: while i < t.len() {
            for l in 1..=t.len() - i {
                if t[i + l - 1] == NEWLINE {
                    break;
                }
                if let Some(end) = repeats(t, i, l, i + l, 0) {
                    let unit = &t[i..i + l];
                    let hay = &t[i..end];
                    let mut count = 0;
                    let mut k = 0;
                    while k + l <= hay.len() {
                        if &hay[k..k + l] == unit {
                            count += 1;
                            k += l;
                        } else {
                            k += 1;
                        }
                    }
                    out.push(Repetition { start: i, end, period: l, count });
                    i = end;
                    continue 'scan;
                }
            }
            i += 1;
        }
        out
    }

    fn reference_paragraphs(t: &[u32]) -> Vec<Repetition> {
        let mut out = Vec::new();
        let mut start = 0;
        for (k, &c) in t.iter().enumerate() {
            if c == NEWLINE || k + 1 == t.len() {
                let end = k + 1;
                out.extend(reference(&t[start..end]).into_iter().map(|r| Repetition {
                    start: r.start + start,
                    end: r.end + start,
                    ..r
                }));
                start = end;
            }
        }
        out
    }

    fn brute_maximal_repetitions(s: &[u32]) -> Vec<MaximalRepetition> {
        let n = s.len();
        let mut out = Vec::new();
        for p in 1..=n.div_ceil(2) {
            let mut x = 0;
            while x + p < n {
                if s[x] != s[x + p] {
                    x += 1;
                    continue;
                }
                let start = x;
                while x + p < n && s[x] == s[x + p] {
                    x += 1;
                }
                if x + p - start >= (2 * p - 1).max(2) {
                    out.push(MaximalRepetition { start, end: x + p, period: p });
                }
            }
        }
        out.sort();
        out
    }

    /// Deterministic xorshift generator for the randomized comparisons.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_text(rng: &mut Rng, alphabet: &[u32], len: usize) -> Vec<u32> {
        (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect()
    }

    #[test]
    fn examples() {
        let t = cps("blah blah blah blah blah");
        assert_eq!(char_repetitions(&t, false), vec![Repetition { start: 0, end: 24, period: 4, count: 5 }]);
        let t = cps("No reps but MMMMMMMMMM");
        assert_eq!(char_repetitions(&t, false), vec![Repetition { start: 12, end: 22, period: 1, count: 10 }]);
        let t = cps("ünï: 漢字 漢字 漢字 漢字!\nnext");
        assert_eq!(char_repetitions(&t, true), vec![Repetition { start: 4, end: 16, period: 3, count: 4 }]);
        // a newline separates copies in the whole text, but not per paragraph
        let t = cps("ab\nab\nab\nab");
        assert_eq!(char_repetitions(&t, false), vec![Repetition { start: 0, end: 11, period: 2, count: 4 }]);
        assert_eq!(char_repetitions(&t, true), vec![]);
        // backtracking among the first three copies: "  \t  \t  " needs unit " " with mixed separators
        let t = cps("     ");
        assert_eq!(char_repetitions(&t, false), reference(&t));
        assert_eq!(char_repetitions(&[], false), vec![]);
    }

    #[test]
    fn maximal_repetitions_match_brute_force() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let alphabet = &[1, 2, 3][..1 + round % 3];
            let len = rng.below(40);
            let t = random_text(&mut rng, alphabet, len);
            let want = brute_maximal_repetitions(&t);
            // budget 0: every split through Z-functions; a large budget: every split by direct comparison
            for budget in [0, DIRECT_COMPARISONS_PER_CHAR, usize::MAX / 64] {
                let mut got = maximal_repetitions_budgeted(&t, budget);
                got.sort();
                assert_eq!(got, want, "{t:?} with budget {budget}");
            }
        }
    }

    #[test]
    fn random_texts_match_reference() {
        let alphabets: [&[char]; 6] = [
            &['a', 'b'],
            &['a', ' '],
            &['a', 'b', ' '],
            &['a', 'b', ' ', '\n'],
            &['a', ' ', '\t', '\n', '\u{3000}'],
            &['x', 'y', 'z', ' ', '\u{1F600}', '漢'],
        ];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for round in 0..20000 {
            let alphabet: Vec<u32> = alphabets[round % alphabets.len()].iter().map(|&c| c as u32).collect();
            let len = rng.below(60);
            let t = random_text(&mut rng, &alphabet, len);
            assert_eq!(
                char_repetitions(&t, false),
                reference(&t),
                "{:?}",
                String::from_iter(t.iter().map(|&c| char::from_u32(c).unwrap()))
            );
            assert_eq!(char_repetitions(&t, true), reference_paragraphs(&t));
        }
    }

    #[test]
    fn long_units_use_hashes_and_still_match() {
        // units longer than DIRECT_COMPARE_MAX, repeated 3 (no match) or 4+ times, with spaces and variations
        let mut rng = Rng(42);
        for round in 0..300 {
            let (unit_len, prefix_len, suffix_len) = (17 + rng.below(30), rng.below(10), rng.below(10));
            let unit = random_text(&mut rng, &cps("abc "), unit_len);
            let mut t = random_text(&mut rng, &cps("abc"), prefix_len);
            for _ in 0..3 + round % 3 {
                t.extend_from_slice(&unit);
                if rng.below(2) == 0 {
                    t.push(' ' as u32);
                }
            }
            if rng.below(3) == 0 {
                let k = rng.below(t.len());
                t[k] = 'd' as u32;
            }
            t.extend(random_text(&mut rng, &cps("ab "), suffix_len));
            assert_eq!(char_repetitions(&t, false), reference(&t));
        }
    }

    #[test]
    fn long_runs_are_linear() {
        let t = vec!['a' as u32; 200_000];
        assert_eq!(char_repetitions(&t, false), vec![Repetition { start: 0, end: 200_000, period: 1, count: 200_000 }]);
        let t: Vec<u32> = (0..200_000u32).map(|k| if k % 2 == 0 { 'a' as u32 } else { ' ' as u32 }).collect();
        let got = char_repetitions(&t, true);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].start, got[0].end, got[0].period), (0, 199_999, 1));
    }

    #[test]
    fn counts_like_python() {
        assert_eq!(count_occurrences(&cps("aaaa"), &cps("aa")), 2);
        assert_eq!(count_occurrences(&cps("abababa"), &cps("aba")), 2);
        assert_eq!(count_occurrences(&cps("xyz"), &cps("q")), 0);
    }
}
