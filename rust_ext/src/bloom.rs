//! A thread-safe Bloom filter over pre-hashed 64-bit keys, with a versioned on-disk format.
//!
//! Keys arrive already hashed (the caller hashes text once with seeded xxh3-64, see `text.rs`); the k bit
//! positions are derived from that single hash by enhanced double hashing, reduced to `[0, num_bits)` with a
//! 128-bit multiply (exact for any bit count, including non-powers of two and counts above 2^32).
//! Bits live in `AtomicU64` words, so concurrent inserts from many threads are safe without locks.
//!
//! Two layouts, each with its file format version: *classic* (format 1) spreads a key's k bits over the whole
//! filter, so a lookup costs k cache misses; *blocked* (format 2) puts all k bits of a key in one 512-bit block,
//! one cache line, so it costs one miss, for a slightly higher false-positive rate at the same size (see
//! [`expected_fpr`]; sizing accounts for it). In the blocked layout a key's answer depends only on earlier keys of
//! its own block, so `check_and_insert` splits large batches by block over the rayon pool with the exact answers
//! (and bits) of the sequential order.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use memmap2::{Mmap, MmapMut, MmapOptions};
use rayon::prelude::*;

/// Largest number of hash functions a filter may use (dolma's unbounded formula gives thousands).
pub const MAX_HASHES: u32 = 16;
/// k used by `from_size` when no expected item count is given: optimal at ~10 bits/item (~1% FPR).
pub const DEFAULT_HASHES: u32 = 7;
/// File magic and current format version.
pub const MAGIC: [u8; 8] = *b"DPYBLOOM";
/// Format version of each layout (the version field of the header says which layout a file has).
pub const CLASSIC_FORMAT_VERSION: u32 = 1;
pub const BLOCKED_FORMAT_VERSION: u32 = 2;
/// Bits of one block of the blocked layout: a 64-byte cache line.
pub const BLOCK_BITS: u64 = 512;
/// Id and name of the key hash (xxh3-64, seeded with the filter's `seed`) recorded in the header.
pub const HASH_ALGORITHM_ID: u32 = 1;
pub const HASH_ALGORITHM_NAME: &str = "xxh3_64";
/// Id of the classic position scheme (splitmix64-mixed enhanced double hashing + multiply-shift reduction).
pub const POSITION_SCHEME_ID: u32 = 1;
/// Id of the blocked scheme: a multiply-shift block, then k distinct bits in it by odd-step double hashing.
pub const BLOCKED_POSITION_SCHEME_ID: u32 = 2;
/// Classic header size in bytes; a multiple of 8 so mmapped words stay aligned.
pub const HEADER_LEN: usize = 72;
/// Blocked header size: the same fields padded to 128 bytes, so mmapped blocks start on cache lines.
pub const BLOCKED_HEADER_LEN: usize = 128;

/// How a key's bits are placed (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Classic,
    Blocked,
}

impl Layout {
    pub fn format_version(self) -> u32 {
        match self {
            Layout::Classic => CLASSIC_FORMAT_VERSION,
            Layout::Blocked => BLOCKED_FORMAT_VERSION,
        }
    }

    fn header_len(self) -> usize {
        match self {
            Layout::Classic => HEADER_LEN,
            Layout::Blocked => BLOCKED_HEADER_LEN,
        }
    }

    fn position_scheme(self) -> u32 {
        match self {
            Layout::Classic => POSITION_SCHEME_ID,
            Layout::Blocked => BLOCKED_POSITION_SCHEME_ID,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Classic => "classic",
            Layout::Blocked => "blocked",
        }
    }

    pub fn from_name(name: &str) -> Result<Layout> {
        match name {
            "classic" => Ok(Layout::Classic),
            "blocked" => Ok(Layout::Blocked),
            other => Err(invalid(format!("unknown bloom filter layout {other:?} (classic or blocked)"))),
        }
    }

    /// `num_bits` rounded up to what the layout can hold (whole blocks for the blocked layout).
    pub fn round_bits(self, num_bits: u64) -> Result<u64> {
        match self {
            Layout::Classic => Ok(num_bits),
            Layout::Blocked => num_bits
                .checked_next_multiple_of(BLOCK_BITS)
                .ok_or_else(|| invalid(format!("{num_bits} bits do not fit in whole blocks"))),
        }
    }
}

/// Batches at least this large are split across the rayon pool (`contains`, `insert`, `check_and_insert`).
const PARALLEL_MIN_BATCH: usize = 1 << 16;
/// How many keys ahead the batch loops prefetch bit words: enough misses in flight to cover this VM's memory
/// latency (one thread, 3M random keys into a 128 MiB blocked filter: 32 ns per key at 8 ahead, 27 at 24 or
/// more).
const PREFETCH_DISTANCE: usize = 32;
/// Batches at least this large on a blocked filter are checked in block order ([`block_order`]), at most
/// `BLOCK_ORDER_MAX_BATCH` keys at a time: the sort's buffers take 21 bytes a key, and a 13-gram run whose batches
/// were ordered whole peaked 22 MB higher (RSS 287-291 MB against 265-274 MB), for no more speed.
const BLOCK_ORDER_MIN_BATCH: usize = 1 << 12;
const BLOCK_ORDER_MAX_BATCH: usize = 1 << 18;
/// Blocks per region of [`block_order`] (a power of two): 16 KiB of filter.
const REGION_BLOCKS: u64 = 256;

#[derive(Debug)]
pub enum BloomError {
    /// A sizing argument or a file header value is out of range.
    InvalidArgument(String),
    /// An insert was attempted on a filter opened read-only.
    ReadOnly,
    /// Two filters with different shapes cannot be merged.
    ShapeMismatch(String),
    /// The file is not a filter in a format this build understands.
    Format {
        path: PathBuf,
        message: String,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for BloomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BloomError::InvalidArgument(msg) => write!(f, "{msg}"),
            BloomError::ReadOnly => write!(f, "bloom filter was opened read-only; inserts are not allowed"),
            BloomError::ShapeMismatch(msg) => write!(f, "cannot merge bloom filters: {msg}"),
            BloomError::Format { path, message } => {
                write!(f, "{}: not a valid dolma_py bloom filter: {message}", path.display())
            }
            BloomError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for BloomError {}

pub type Result<T> = std::result::Result<T, BloomError>;

fn invalid(msg: impl Into<String>) -> BloomError {
    BloomError::InvalidArgument(msg.into())
}

/// Number of bits and hash functions for `expected_items` keys at false-positive rate `fpr`.
///
/// k = round(-log2 fpr) clamped to 1..=MAX_HASHES, then the smallest m with (1 - e^(-kn/m))^k <= fpr;
/// for fpr >= 2^-16 this is the textbook optimum m = -n ln p / ln^2 2, below it m grows slightly to keep k capped.
/// The blocked layout then grows m in 1% steps (whole blocks) until its own rate ([`expected_fpr`]) meets `fpr`.
pub fn plan(expected_items: u64, fpr: f64, layout: Layout) -> Result<(u64, u32)> {
    let (mut bits, k) = classic_plan(expected_items, fpr)?;
    if layout == Layout::Blocked {
        bits = layout.round_bits(bits)?;
        while expected_fpr(layout, bits, k, expected_items as f64) > fpr {
            bits = layout.round_bits(bits.checked_add(bits / 100 + 1).ok_or_else(|| invalid("filter too large"))?)?;
        }
    }
    Ok((bits, k))
}

/// False-positive rate of a filter of `num_bits` bits and `num_hashes` hashes holding `keys` distinct keys.
///
/// Classic: (1 - e^(-kn/m))^k. Blocked: the number of keys in a block is Poisson with mean `keys * 512 / m`, and
/// a block holding j keys (k independent bits each) answers a new key falsely with (1 - (1 - 1/512)^(jk))^k.
pub fn expected_fpr(layout: Layout, num_bits: u64, num_hashes: u32, keys: f64) -> f64 {
    let k = num_hashes as f64;
    let classic = (1.0 - (-k * keys / num_bits as f64).exp()).powf(k);
    let mean = keys * BLOCK_BITS as f64 / num_bits as f64;
    if layout == Layout::Classic || keys <= 0.0 || mean > 1e6 {
        return classic; // a block mean past a million keys means a filter that is all ones anyway
    }
    let unset_per_key = (1.0 - 1.0 / BLOCK_BITS as f64).powf(k);
    let spread = 12.0 * mean.sqrt() + 30.0;
    let (low, high) = ((mean - spread).max(0.0) as u64, (mean + spread) as u64);
    let (mut ln_factorial, mut rate) = (0.0f64, 0.0f64);
    for j in 0..=high {
        if j > 0 {
            ln_factorial += (j as f64).ln();
        }
        if j >= low {
            let probability = (-mean + j as f64 * mean.ln() - ln_factorial).exp();
            rate += probability * (1.0 - unset_per_key.powf(j as f64)).powf(k);
        }
    }
    rate
}

fn classic_plan(expected_items: u64, fpr: f64) -> Result<(u64, u32)> {
    if expected_items == 0 {
        return Err(invalid("expected_items must be > 0"));
    }
    if !(fpr > 0.0 && fpr < 1.0) {
        return Err(invalid(format!("false-positive rate must be in (0, 1), got {fpr}")));
    }
    let k = (-fpr.log2()).round().clamp(1.0, MAX_HASHES as f64) as u32;
    let n = expected_items as f64;
    let per_hash = fpr.powf(1.0 / k as f64);
    let bits = (-(k as f64) * n / (-per_hash).ln_1p()).ceil();
    if !bits.is_finite() || bits >= u64::MAX as f64 {
        return Err(invalid(format!("a filter for {expected_items} items at fpr {fpr} is too large")));
    }
    Ok(((bits as u64).max(64), k))
}

/// Optimal k for `num_bits` bits holding `expected_items` keys: round(m/n * ln 2), clamped to 1..=MAX_HASHES.
pub fn optimal_num_hashes(num_bits: u64, expected_items: u64) -> Result<u32> {
    if num_bits == 0 {
        return Err(invalid("bloom filter size must be > 0"));
    }
    if expected_items == 0 {
        return Err(invalid("expected_items must be > 0"));
    }
    let k = (num_bits as f64 / expected_items as f64 * std::f64::consts::LN_2).round();
    Ok(k.clamp(1.0, MAX_HASHES as f64) as u32)
}

/// splitmix64's finalizer: a bijective mixer, so even sequential or low-entropy keys spread over all bits.
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps a uniform 64-bit value onto `[0, n)` without division (Lemire's multiply-shift).
#[inline(always)]
fn reduce(x: u64, n: u64) -> u64 {
    ((x as u128 * n as u128) >> 64) as u64
}

/// The block of `hash` among `num_blocks` blocks (blocked layout).
#[inline(always)]
fn block_of(hash: u64, num_blocks: u64) -> u64 {
    reduce(mix64(hash), num_blocks)
}

/// The k bit positions of `hash` in a blocked filter: k independent 9-bit fields of a splitmix64 stream, each a
/// bit of its block (independent bits follow the rate of [`expected_fpr`]; an arithmetic progression of distinct
/// bits, tried first, measured 13% above its own formula).
#[inline(always)]
fn for_each_block_position(hash: u64, num_hashes: u32, num_blocks: u64, mut f: impl FnMut(u64)) {
    let base = block_of(hash, num_blocks) * BLOCK_BITS;
    for_each_offset_in_block(hash, num_hashes, |offset| f(base + offset));
}

/// The k bit offsets of `hash` within its block (see [`for_each_block_position`]).
#[inline(always)]
fn for_each_offset_in_block(hash: u64, num_hashes: u32, mut f: impl FnMut(u64)) {
    let mut stream = hash ^ 0x9E37_79B9_7F4A_7C15;
    let mut bits = 0u64;
    for i in 0..num_hashes {
        if i % 7 == 0 {
            stream = stream.wrapping_add(0x9E37_79B9_7F4A_7C15);
            bits = mix64(stream);
        }
        f(bits & (BLOCK_BITS - 1));
        bits >>= 9;
    }
}

/// The k bit positions of `hash` in a filter of `num_bits` bits (enhanced double hashing).
#[inline(always)]
fn for_each_position(hash: u64, num_hashes: u32, num_bits: u64, mut f: impl FnMut(u64)) {
    let mut x = mix64(hash);
    let mut y = mix64(hash ^ 0x9E37_79B9_7F4A_7C15);
    for i in 0..num_hashes as u64 {
        f(reduce(x, num_bits));
        x = x.wrapping_add(y);
        y = y.wrapping_add(i);
    }
}

/// Words of one block (a cache line).
const BLOCK_WORDS: usize = (BLOCK_BITS / 64) as usize;

/// `hash`'s bits in a blocked filter as its block's first word and a mask over the block's words: the positions of
/// [`for_each_block_position`], gathered so a check-and-insert is 8 loads and compares with no branch per bit
/// (11.6 M keys in block order on one thread: 0.24 s, bit by bit 0.32 s). Random-order membership tests stay bit by
/// bit, which measured faster for them (0.30 CPU-s against 0.36 for 11.6 M keys on 2 threads).
#[inline(always)]
fn block_mask(hash: u64, num_hashes: u32, num_blocks: u64) -> (usize, [u64; BLOCK_WORDS]) {
    let mut mask = [0u64; BLOCK_WORDS];
    for_each_offset_in_block(hash, num_hashes, |offset| mask[(offset >> 6) as usize] |= 1u64 << (offset & 63));
    (block_of(hash, num_blocks) as usize * BLOCK_WORDS, mask)
}

/// `hashes` in block order, stable, with each key's index in the batch and where each region starts: region
/// `r`'s keys are `keys[bounds[r]..bounds[r + 1]]`, in batch order. A region is a run of [`REGION_BLOCKS`] blocks
/// or more (16 KiB of filter), so consecutive lookups share pages: on this VM a random lookup into a 128 MiB filter
/// costs a page walk, about 30 ns with prefetching, and lookups in block order 20 ns (one thread, 11.6 M keys).
fn block_order(hashes: &[u64], num_blocks: u64) -> (Vec<(u64, u32)>, Vec<u32>) {
    let shift = REGION_BLOCKS.trailing_zeros().max((64 - (num_blocks - 1).leading_zeros()).saturating_sub(16));
    let regions = ((num_blocks - 1) >> shift) as usize + 1;
    let region_of: Vec<u32> = hashes.iter().map(|&h| (block_of(h, num_blocks) >> shift) as u32).collect();
    let mut bounds = vec![0u32; regions + 1];
    for &r in &region_of {
        bounds[r as usize + 1] += 1;
    }
    for r in 0..regions {
        bounds[r + 1] += bounds[r];
    }
    let mut next = bounds.clone();
    let mut keys = vec![(0u64, 0u32); hashes.len()];
    for (i, (&h, &r)) in hashes.iter().zip(&region_of).enumerate() {
        keys[next[r as usize] as usize] = (h, i as u32);
        next[r as usize] += 1;
    }
    (keys, bounds)
}

#[inline(always)]
fn prefetch(word: &AtomicU64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; it never faults and the address is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(word as *const AtomicU64 as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = word;
}

/// Owner of the memory behind the bit words; `words` in `BloomFilter` points into it.
enum Storage {
    Anonymous(#[cfg_attr(not(target_os = "linux"), allow(dead_code))] MmapMut),
    MappedReadOnly(#[allow(dead_code)] Mmap),
    MappedPrivate(#[allow(dead_code)] MmapMut),
}

pub struct BloomFilter {
    _storage: Storage,
    words: NonNull<AtomicU64>,
    num_words: usize,
    num_bits: u64,
    num_hashes: u32,
    seed: u64,
    read_only: bool,
    layout: Layout,
    /// Held by every write (insert, check-and-insert, merge): `check_and_insert` then owns the bits it touches
    /// and sets them with plain stores instead of locked read-modify-writes.
    writer: Mutex<()>,
}

// SAFETY: `words` points into memory owned by `_storage` for the filter's whole life and is only accessed
// through `AtomicU64`, which is `Sync`; read-only mappings are never written (inserts check `read_only`).
unsafe impl Send for BloomFilter {}
unsafe impl Sync for BloomFilter {}

/// Zeroed memory laid out as the filter's file: `header_len` bytes for the header, then `num_words` bit words,
/// padded to whole pages, or an error instead of an abort when it cannot be had. Because memory and file agree,
/// `save` can hand the whole image to the disk without copying it (`O_DIRECT`). It is an anonymous mapping, so a
/// huge filter costs nothing until its bits are touched, and on Linux it asks for transparent huge pages: random
/// probes then miss the TLB far less often (a large speedup for big filters).
fn anonymous_image(header_len: usize, num_words: usize) -> Result<MmapMut> {
    let too_big = || invalid(format!("cannot allocate {num_words} x 8 bytes for the bloom filter"));
    let len = num_words
        .checked_mul(8)
        .and_then(|bytes| bytes.checked_add(header_len))
        .and_then(|bytes| bytes.checked_next_multiple_of(IMAGE_ALIGN))
        .ok_or_else(too_big)?;
    let map = MmapMut::map_anon(len).map_err(|_| too_big())?;
    #[cfg(target_os = "linux")]
    // A hint only: kernels without transparent huge pages refuse it, and the filter works the same.
    let _ = map.advise(memmap2::Advice::HugePage);
    Ok(map)
}

/// Alignment of a filter image's length (and, as a mapping, of its address): what `O_DIRECT` writes need.
const IMAGE_ALIGN: usize = 4096;

fn words_for_bits(num_bits: u64) -> Result<usize> {
    usize::try_from(num_bits.div_ceil(64)).map_err(|_| invalid(format!("{num_bits} bits do not fit in memory")))
}

/// Parsed and validated file header.
struct Header {
    num_bits: u64,
    num_hashes: u32,
    seed: u64,
    num_words: usize,
    layout: Layout,
}

impl Header {
    /// The header bytes: the classic 72, or for the blocked layout the same fields zero-padded to 128.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.layout.header_len()];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&self.layout.format_version().to_le_bytes());
        out[12..16].copy_from_slice(&(self.layout.header_len() as u32).to_le_bytes());
        out[16..24].copy_from_slice(&self.num_bits.to_le_bytes());
        out[24..28].copy_from_slice(&self.num_hashes.to_le_bytes());
        out[28..32].copy_from_slice(&HASH_ALGORITHM_ID.to_le_bytes());
        out[32..40].copy_from_slice(&self.seed.to_le_bytes());
        out[40..44].copy_from_slice(&self.layout.position_scheme().to_le_bytes());
        // 44..48 reserved (zero)
        out[48..56].copy_from_slice(&(self.num_words as u64).to_le_bytes());
        out[56..56 + HASH_ALGORITHM_NAME.len()].copy_from_slice(HASH_ALGORITHM_NAME.as_bytes());
        out
    }

    /// The layout a header's first `HEADER_LEN` bytes announce, from its format version.
    fn layout_of(bytes: &[u8; HEADER_LEN], path: &Path) -> Result<Layout> {
        let bad = |message: String| BloomError::Format { path: path.to_path_buf(), message };
        if bytes[0..8] != MAGIC {
            return Err(bad(format!("bad magic bytes {:?} (expected {:?})", &bytes[0..8], MAGIC)));
        }
        match u32::from_le_bytes(bytes[8..12].try_into().unwrap()) {
            CLASSIC_FORMAT_VERSION => Ok(Layout::Classic),
            BLOCKED_FORMAT_VERSION => Ok(Layout::Blocked),
            version => Err(bad(format!(
                "unsupported format version {version} (this build reads {CLASSIC_FORMAT_VERSION} and {BLOCKED_FORMAT_VERSION})"
            ))),
        }
    }

    fn decode(bytes: &[u8], layout: Layout, path: &Path, file_len: u64) -> Result<Header> {
        let bad = |message: String| BloomError::Format { path: path.to_path_buf(), message };
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
        let header_len = layout.header_len();
        if u32_at(12) as usize != header_len {
            return Err(bad(format!("header length {} (expected {header_len})", u32_at(12))));
        }
        let (algorithm, scheme) = (u32_at(28), u32_at(40));
        let name_end = bytes[56..HEADER_LEN].iter().position(|&b| b == 0).map_or(HEADER_LEN, |p| 56 + p);
        let name = String::from_utf8_lossy(&bytes[56..name_end]);
        if algorithm != HASH_ALGORITHM_ID || name != HASH_ALGORITHM_NAME {
            return Err(bad(format!("unknown key hash algorithm {algorithm} ({name:?})")));
        }
        if scheme != layout.position_scheme() {
            return Err(bad(format!("unknown bit position scheme {scheme} for the {} layout", layout.name())));
        }
        let (num_bits, num_hashes, num_words) = (u64_at(16), u32_at(24), u64_at(48));
        if num_bits == 0 || num_words != num_bits.div_ceil(64) {
            return Err(bad(format!("inconsistent size: {num_bits} bits in {num_words} words")));
        }
        if layout == Layout::Blocked && num_bits % BLOCK_BITS != 0 {
            return Err(bad(format!("{num_bits} bits are not whole {BLOCK_BITS}-bit blocks")));
        }
        if !(1..=MAX_HASHES).contains(&num_hashes) {
            return Err(bad(format!("number of hashes {num_hashes} outside 1..={MAX_HASHES}")));
        }
        let expected_len = num_words.checked_mul(8).and_then(|b| b.checked_add(header_len as u64));
        if expected_len != Some(file_len) {
            return Err(bad(format!("file is {file_len} bytes, header implies {expected_len:?}")));
        }
        let num_words = usize::try_from(num_words).map_err(|_| bad("too large for this platform".into()))?;
        Ok(Header { num_bits, num_hashes, seed: u64_at(32), num_words, layout })
    }
}

impl BloomFilter {
    /// An empty classic filter with exactly `num_bits` bits and `num_hashes` hash functions.
    pub fn new(num_bits: u64, num_hashes: u32, seed: u64) -> Result<Self> {
        Self::with_layout(num_bits, num_hashes, seed, Layout::Classic)
    }

    /// An empty filter of `layout` with `num_bits` bits (rounded up to whole blocks when blocked).
    pub fn with_layout(num_bits: u64, num_hashes: u32, seed: u64, layout: Layout) -> Result<Self> {
        if num_bits == 0 {
            return Err(invalid("bloom filter size must be > 0"));
        }
        if !(1..=MAX_HASHES).contains(&num_hashes) {
            return Err(invalid(format!("num_hashes must be in 1..={MAX_HASHES}, got {num_hashes}")));
        }
        let num_bits = layout.round_bits(num_bits)?;
        let num_words = words_for_bits(num_bits)?;
        let image = anonymous_image(layout.header_len(), num_words)?;
        Ok(Self::from_anonymous(image, Header { num_bits, num_hashes, seed, num_words, layout }, false))
    }

    /// A filter sized for `expected_items` keys at false-positive rate `fpr` (see [`plan`]).
    pub fn from_expected(expected_items: u64, fpr: f64, seed: u64, layout: Layout) -> Result<Self> {
        let (num_bits, num_hashes) = plan(expected_items, fpr, layout)?;
        Self::with_layout(num_bits, num_hashes, seed, layout)
    }

    /// A filter of `size_in_bytes` bytes; k is optimal for `expected_items`, or DEFAULT_HASHES without it.
    pub fn from_size(size_in_bytes: u64, expected_items: Option<u64>, seed: u64, layout: Layout) -> Result<Self> {
        if size_in_bytes == 0 {
            return Err(invalid("size_in_bytes must be > 0"));
        }
        let num_bits = size_in_bytes
            .checked_mul(8)
            .ok_or_else(|| invalid(format!("size_in_bytes {size_in_bytes} is too large")))?;
        let num_hashes = match expected_items {
            Some(n) => optimal_num_hashes(num_bits, n)?,
            None => DEFAULT_HASHES,
        };
        Self::with_layout(num_bits, num_hashes, seed, layout)
    }

    fn from_anonymous(mut image: MmapMut, header: Header, read_only: bool) -> Self {
        // SAFETY: the image holds the header's bytes and then `num_words` words (`anonymous_image`); mappings are
        // page-aligned and header lengths multiples of 8, so the words are aligned for AtomicU64.
        let words = unsafe { image.as_mut_ptr().add(header.layout.header_len()) };
        BloomFilter {
            _storage: Storage::Anonymous(image),
            words: NonNull::new(words as *mut AtomicU64).expect("mmap base is non-null"),
            num_words: header.num_words,
            num_bits: header.num_bits,
            num_hashes: header.num_hashes,
            seed: header.seed,
            read_only,
            layout: header.layout,
            writer: Mutex::new(()),
        }
    }

    #[inline(always)]
    fn words(&self) -> &[AtomicU64] {
        // SAFETY: see the `Send`/`Sync` impls; the pointer and length describe memory owned by `_storage`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr(), self.num_words) }
    }

    pub fn num_bits(&self) -> u64 {
        self.num_bits
    }
    pub fn num_hashes(&self) -> u32 {
        self.num_hashes
    }
    /// Seed the keys must be hashed with (recorded in the file so producers and readers agree).
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn read_only(&self) -> bool {
        self.read_only
    }
    pub fn layout(&self) -> Layout {
        self.layout
    }
    /// Bytes of bit storage (whole 64-bit words).
    pub fn size_in_bytes(&self) -> u64 {
        self.num_words as u64 * 8
    }

    /// Number of bits set (parallel popcount).
    pub fn count_ones(&self) -> u64 {
        self.words().par_iter().map(|w| w.load(Ordering::Relaxed).count_ones() as u64).sum()
    }

    /// Fraction of the filter's bits that are set.
    pub fn fill_ratio(&self) -> f64 {
        self.count_ones() as f64 / self.num_bits as f64
    }

    /// False-positive rate of a lookup right now: fill_ratio ^ k (classic); for the blocked layout the mean over
    /// blocks of the chance that k distinct bits of the block are all set, from each block's own popcount.
    pub fn estimated_fpr(&self) -> f64 {
        let k = self.num_hashes;
        if self.layout == Layout::Classic {
            return self.fill_ratio().powi(k as i32);
        }
        // k independent bits of a block holding `ones` set bits are all set with (ones / 512)^k
        let all_set = |ones: u32| (ones as f64 / BLOCK_BITS as f64).powi(k as i32);
        let blocks = self.words().par_chunks(BLOCK_BITS as usize / 64);
        let total: f64 = blocks.map(|b| all_set(b.iter().map(|w| w.load(Ordering::Relaxed).count_ones()).sum())).sum();
        total / (self.num_bits / BLOCK_BITS) as f64
    }

    /// Estimated number of distinct keys inserted: -(m/k) ln(1 - fill) (Swamidass & Baldi), for either layout
    /// (a blocked key also sets k uniformly random bits).
    pub fn estimated_items(&self) -> f64 {
        let (m, k) = (self.num_bits as f64, self.num_hashes as f64);
        -(m / k) * (-self.fill_ratio()).ln_1p()
    }

    /// Calls `f` with each bit position of `hash`, as the filter's layout places them.
    #[inline(always)]
    fn for_each_bit(&self, hash: u64, f: impl FnMut(u64)) {
        match self.layout {
            Layout::Classic => for_each_position(hash, self.num_hashes, self.num_bits, f),
            Layout::Blocked => for_each_block_position(hash, self.num_hashes, self.num_bits / BLOCK_BITS, f),
        }
    }

    #[inline(always)]
    fn prefetch_key(&self, words: &[AtomicU64], hash: u64) {
        match self.layout {
            Layout::Classic => self.for_each_bit(hash, |p| prefetch(&words[(p >> 6) as usize])),
            Layout::Blocked => {
                prefetch(&words[(block_of(hash, self.num_bits / BLOCK_BITS) * BLOCK_BITS / 64) as usize])
            }
        }
    }

    #[inline(always)]
    fn contains_one(&self, words: &[AtomicU64], hash: u64) -> bool {
        let mut all = true;
        self.for_each_bit(hash, |p| {
            all &= words[(p >> 6) as usize].load(Ordering::Relaxed) & (1u64 << (p & 63)) != 0;
        });
        all
    }

    /// Sets the key's bits; returns whether they were all set already. Loads first so misses overlap and
    /// only missing bits pay for a locked `fetch_or`.
    #[inline(always)]
    fn insert_one(&self, words: &[AtomicU64], hash: u64) -> bool {
        let mut seen = true;
        self.for_each_bit(hash, |p| {
            let (word, mask) = (&words[(p >> 6) as usize], 1u64 << (p & 63));
            if word.load(Ordering::Relaxed) & mask == 0 {
                seen &= word.fetch_or(mask, Ordering::Relaxed) & mask != 0;
            }
        });
        seen
    }

    /// `insert_one` for a caller that owns the key's bits (the writer lock, and for a parallel check-and-insert
    /// the key's block): plain stores, no locked instruction; a blocked key's line is written only when it
    /// gains a bit.
    #[inline(always)]
    fn insert_owned_bits(&self, words: &[AtomicU64], hash: u64) -> bool {
        if self.layout == Layout::Blocked {
            let (first, mask) = block_mask(hash, self.num_hashes, self.num_bits / BLOCK_BITS);
            let block = &words[first..first + BLOCK_WORDS];
            let mut bits = [0u64; BLOCK_WORDS];
            let mut missing = 0u64;
            for ((b, word), m) in bits.iter_mut().zip(block).zip(mask) {
                *b = word.load(Ordering::Relaxed);
                missing |= m & !*b;
            }
            if missing != 0 {
                for ((b, word), m) in bits.iter().zip(block).zip(mask) {
                    word.store(b | m, Ordering::Relaxed);
                }
            }
            return missing == 0;
        }
        let mut seen = true;
        self.for_each_bit(hash, |p| {
            let (word, mask) = (&words[(p >> 6) as usize], 1u64 << (p & 63));
            let bits = word.load(Ordering::Relaxed);
            if bits & mask == 0 {
                seen = false;
                word.store(bits | mask, Ordering::Relaxed);
            }
        });
        seen
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `op` over `hashes` in order, writing one result per key, with software prefetching.
    fn run_batch(&self, hashes: &[u64], out: &mut [bool], op: impl Fn(&[AtomicU64], u64) -> bool) {
        let words = self.words();
        for &h in hashes.iter().take(PREFETCH_DISTANCE) {
            self.prefetch_key(words, h);
        }
        for (i, (&h, o)) in hashes.iter().zip(out.iter_mut()).enumerate() {
            if let Some(&ahead) = hashes.get(i + PREFETCH_DISTANCE) {
                self.prefetch_key(words, ahead);
            }
            *o = op(words, h);
        }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            Err(BloomError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Membership of each key (parallel for large batches).
    pub fn contains(&self, hashes: &[u64], out: &mut [bool]) {
        assert_eq!(hashes.len(), out.len());
        let op = |w: &[AtomicU64], h: u64| self.contains_one(w, h);
        if hashes.len() >= PARALLEL_MIN_BATCH {
            hashes
                .par_chunks(PARALLEL_MIN_BATCH / 4)
                .zip(out.par_chunks_mut(PARALLEL_MIN_BATCH / 4))
                .for_each(|(h, o)| self.run_batch(h, o, op));
        } else {
            self.run_batch(hashes, out, op);
        }
    }

    /// Inserts every key (parallel for large batches; atomics make this safe).
    pub fn insert(&self, hashes: &[u64]) -> Result<()> {
        self.check_writable()?;
        let _writer = self.lock_writer();
        let words = self.words();
        let insert_chunk = |chunk: &[u64]| {
            for (i, &h) in chunk.iter().enumerate() {
                if let Some(&ahead) = chunk.get(i + PREFETCH_DISTANCE) {
                    self.prefetch_key(words, ahead);
                }
                self.insert_one(words, h);
            }
        };
        if hashes.len() >= PARALLEL_MIN_BATCH {
            hashes.par_chunks(PARALLEL_MIN_BATCH / 4).for_each(insert_chunk);
        } else {
            insert_chunk(hashes);
        }
        Ok(())
    }

    /// For each key in order: was it already present? Then insert it. A key repeated within the batch reports
    /// `true` the second time. A large batch on a blocked filter runs in block order ([`block_order`]), split
    /// over the rayon pool by block: a key's answer depends only on earlier keys of its own block, and keys of a
    /// block keep their batch order, so answers and bits are exactly those of the sequential order, for any
    /// number of threads.
    pub fn check_and_insert(&self, hashes: &[u64], out: &mut [bool]) -> Result<()> {
        self.check_writable()?;
        assert_eq!(hashes.len(), out.len());
        let _writer = self.lock_writer();
        if self.layout == Layout::Blocked && hashes.len() >= BLOCK_ORDER_MIN_BATCH {
            self.check_and_insert_in_block_order(hashes, out);
        } else {
            self.run_batch(hashes, out, |w, h| self.insert_owned_bits(w, h));
        }
        Ok(())
    }

    /// Checks and inserts every key in block order and puts each answer at its key's place in `out`, at most
    /// `BLOCK_ORDER_MAX_BATCH` keys at a time, in batch order.
    fn check_and_insert_in_block_order(&self, hashes: &[u64], out: &mut [bool]) {
        for (h, o) in hashes.chunks(BLOCK_ORDER_MAX_BATCH).zip(out.chunks_mut(BLOCK_ORDER_MAX_BATCH)) {
            self.check_and_insert_chunk_in_block_order(h, o);
        }
    }

    /// One chunk of `check_and_insert_in_block_order`. The keys are split into one contiguous range of regions per
    /// rayon thread (about equal key counts), so each thread owns the blocks it touches; answers are gathered in
    /// block order and then scattered back.
    fn check_and_insert_chunk_in_block_order(&self, hashes: &[u64], out: &mut [bool]) {
        let (keys, bounds) = block_order(hashes, self.num_bits / BLOCK_BITS);
        let parts = if hashes.len() >= PARALLEL_MIN_BATCH { rayon::current_num_threads() } else { 1 };
        let mut answers = vec![false; hashes.len()];
        let mut pieces = Vec::with_capacity(parts);
        let (mut rest, mut done, mut region) = (answers.as_mut_slice(), 0usize, 0usize);
        for part in 1..=parts {
            let target = hashes.len() * part / parts;
            while region + 1 < bounds.len() && (bounds[region] as usize) < target {
                region += 1;
            }
            let end = if part == parts { hashes.len() } else { bounds[region] as usize };
            let (piece, tail) = std::mem::take(&mut rest).split_at_mut(end - done);
            pieces.push((&keys[done..end], piece));
            (rest, done) = (tail, end);
        }
        let words = self.words();
        let run = |(keys, answers): (&[(u64, u32)], &mut [bool])| {
            for (j, answer) in answers.iter_mut().enumerate() {
                if let Some(&(ahead, _)) = keys.get(j + PREFETCH_DISTANCE) {
                    self.prefetch_key(words, ahead);
                }
                *answer = self.insert_owned_bits(words, keys[j].0);
            }
        };
        if parts > 1 {
            pieces.into_par_iter().for_each(run);
        } else {
            pieces.into_iter().for_each(run);
        }
        for (&(_, index), &answer) in keys.iter().zip(&answers) {
            out[index as usize] = answer;
        }
    }

    /// ORs `other`'s bits into this filter; both must have the same bit count, k and seed.
    pub fn merge(&self, other: &BloomFilter) -> Result<()> {
        self.check_writable()?;
        let _writer = self.lock_writer();
        let shape = |f: &BloomFilter| (f.num_bits, f.num_hashes, f.seed, f.layout);
        if shape(self) != shape(other) {
            return Err(BloomError::ShapeMismatch(format!(
                "(num_bits, num_hashes, seed, layout) {:?} != {:?}",
                shape(self),
                shape(other)
            )));
        }
        self.words().par_iter().zip(other.words().par_iter()).for_each(|(a, b)| {
            let bits = b.load(Ordering::Relaxed);
            if bits != 0 {
                a.fetch_or(bits, Ordering::Relaxed);
            }
        });
        Ok(())
    }

    fn header(&self) -> Header {
        Header {
            num_bits: self.num_bits,
            num_hashes: self.num_hashes,
            seed: self.seed,
            num_words: self.num_words,
            layout: self.layout,
        }
    }

    /// Writes the filter to `path` atomically: a temporary file in the same directory, fsync, rename. Inserts by
    /// other threads wait until the bits are written.
    pub fn save(&self, path: &Path) -> Result<()> {
        static SAVE_COUNTER: AtomicU64 = AtomicU64::new(0);
        let io_err = |source: io::Error| BloomError::Io { path: path.to_path_buf(), source };
        let file_name = path.file_name().ok_or_else(|| invalid(format!("{}: not a file path", path.display())))?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let unique = SAVE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_name = format!(".{}.tmp-{}-{unique}", file_name.to_string_lossy(), std::process::id());
        let tmp = dir.map_or_else(|| PathBuf::from(&tmp_name), |d| d.join(&tmp_name));
        let written = self.write_to(&tmp).and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(e));
        }
        Ok(())
    }

    /// Header and bits, then fsync. Holds the writer lock, so the file is one consistent state of the filter.
    fn write_to(&self, path: &Path) -> io::Result<()> {
        let _writer = self.lock_writer();
        #[cfg(target_os = "linux")]
        if let Storage::Anonymous(image) = &self._storage {
            if cfg!(target_endian = "little") && self.write_image_direct(image, path)? {
                return Ok(());
            }
        }
        self.write_buffered(path)
    }

    /// `write_to` through the page cache: header, then the words little-endian.
    fn write_buffered(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(&self.header().encode())?;
        for chunk in self.words().chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect();
            out.write_all(&bytes)?;
        }
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
    }

    /// Writes the in-memory image (header, then the words as they lie in memory) with `O_DIRECT`: the disk reads
    /// the filter's own pages, with no copy into the page cache, which for a 128 MiB filter on the development VM
    /// took 0.06 s against 0.4-0.5 s (and 0.35-0.43 s of CPU) buffered and fsynced. False, with nothing written,
    /// where the file system refuses `O_DIRECT` (tmpfs, some network file systems).
    #[cfg(target_os = "linux")]
    fn write_image_direct(&self, image: &MmapMut, path: &Path) -> io::Result<bool> {
        use std::os::unix::fs::OpenOptionsExt;

        let refused = |e: &io::Error| e.raw_os_error() == Some(libc::EINVAL);
        let header = self.header().encode();
        let file_len = header.len() + self.num_words * 8;
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if refused(&e) => return Ok(false),
            Err(e) => return Err(e),
        };
        // SAFETY: `words` was derived from the image's base pointer, `header.len()` bytes in, so stepping back gives
        // the base with the whole image's provenance. The header bytes are touched only here, under the writer
        // lock; the words are not stored to while it is held; the image is page-aligned and of whole pages.
        let bytes = unsafe {
            let base = self.words.as_ptr().cast::<u8>().sub(header.len());
            std::ptr::copy_nonoverlapping(header.as_ptr(), base, header.len());
            std::slice::from_raw_parts(base.cast_const(), image.len())
        };
        match file.write_all(bytes) {
            Err(e) if refused(&e) => {
                drop(file);
                fs::remove_file(path)?;
                return Ok(false);
            }
            other => other?,
        }
        file.set_len(file_len as u64)?; // the page padding goes
        file.sync_all()?;
        Ok(true)
    }

    /// Opens a filter saved by [`save`]. With `mmap`, pages load lazily from the file: read-only filters map
    /// it shared (the file is never written), writable ones map it copy-on-write (changes stay in memory
    /// until `save`). Without `mmap` the bits are read into memory.
    pub fn load(path: &Path, read_only: bool, mmap: bool) -> Result<Self> {
        let io_err = |source: io::Error| BloomError::Io { path: path.to_path_buf(), source };
        let mut file = File::open(path).map_err(io_err)?;
        let file_len = file.metadata().map_err(io_err)?.len();
        let mut head = [0u8; HEADER_LEN];
        if file_len < HEADER_LEN as u64 {
            return Err(BloomError::Format {
                path: path.to_path_buf(),
                message: format!("file is {file_len} bytes, shorter than the {HEADER_LEN}-byte header"),
            });
        }
        file.read_exact(&mut head).map_err(io_err)?;
        let layout = Header::layout_of(&head, path)?;
        let mut bytes = head.to_vec();
        if layout.header_len() > HEADER_LEN {
            if file_len < layout.header_len() as u64 {
                return Err(BloomError::Format {
                    path: path.to_path_buf(),
                    message: format!("file is {file_len} bytes, shorter than the {}-byte header", layout.header_len()),
                });
            }
            bytes.resize(layout.header_len(), 0);
            file.read_exact(&mut bytes[HEADER_LEN..]).map_err(io_err)?;
        }
        let header = Header::decode(&bytes, layout, path, file_len)?;
        let filter = if mmap && cfg!(target_endian = "little") {
            Self::map(&file, header, read_only).map_err(io_err)?
        } else {
            let header_len = header.layout.header_len();
            let mut image = anonymous_image(header_len, header.num_words)?;
            let words = &mut image[header_len..header_len + header.num_words * 8];
            file.read_exact(words).map_err(io_err)?;
            if cfg!(target_endian = "big") {
                for word in words.chunks_exact_mut(8) {
                    let value = u64::from_le_bytes(word.try_into().expect("8-byte chunk"));
                    word.copy_from_slice(&value.to_ne_bytes());
                }
            }
            Self::from_anonymous(image, header, read_only)
        };
        filter.check_padding(path)?;
        Ok(filter)
    }

    fn map(file: &File, header: Header, read_only: bool) -> io::Result<Self> {
        let options = {
            let mut o = MmapOptions::new();
            o.offset(0).len(header.layout.header_len() + header.num_words * 8);
            o
        };
        // SAFETY: the mapping is only accessed through atomics; as with any mmap, another process truncating
        // the file underneath us is outside what we can guard against (save() replaces files by rename).
        let (storage, base) = unsafe {
            if read_only {
                let m = options.map(file)?;
                let base = m.as_ptr() as *mut u8;
                (Storage::MappedReadOnly(m), base)
            } else {
                let mut m = options.map_copy(file)?;
                let base = m.as_mut_ptr();
                (Storage::MappedPrivate(m), base)
            }
        };
        // SAFETY: header lengths are multiples of 8 and mappings are page-aligned, so the words are aligned.
        let words = NonNull::new(unsafe { base.add(header.layout.header_len()) } as *mut AtomicU64)
            .expect("mmap base is non-null");
        debug_assert_eq!(words.as_ptr() as usize % 8, 0);
        Ok(BloomFilter {
            _storage: storage,
            words,
            num_words: header.num_words,
            num_bits: header.num_bits,
            num_hashes: header.num_hashes,
            seed: header.seed,
            read_only,
            layout: header.layout,
            writer: Mutex::new(()),
        })
    }

    /// Bits past `num_bits` in the last word are never set by inserts; any set there means corruption.
    fn check_padding(&self, path: &Path) -> Result<()> {
        let used = (self.num_bits % 64) as u32;
        let last = self.words().last().map_or(0, |w| w.load(Ordering::Relaxed));
        if used != 0 && last >> used != 0 {
            return Err(BloomError::Format {
                path: path.to_path_buf(),
                message: "bits set beyond the filter's bit count (corrupt file)".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u64, salt: u64) -> Vec<u64> {
        (0..n).map(|i| mix64(i.wrapping_add(salt.wrapping_mul(0x1000_0000_0000)))).collect()
    }

    #[test]
    fn plan_matches_textbook_sizing() {
        let (m, k) = plan(1_000_000, 0.01, Layout::Classic).unwrap();
        assert_eq!(k, 7);
        let optimal = -1e6 * 0.01f64.ln() / std::f64::consts::LN_2.powi(2);
        assert!((m as f64 / optimal - 1.0).abs() < 0.01, "m={m} optimal={optimal}");
        let (m, k) = plan(1000, 1e-12, Layout::Classic).unwrap();
        assert_eq!(k, MAX_HASHES);
        let fpr = (1.0 - (-(k as f64) * 1000.0 / m as f64).exp()).powi(k as i32);
        assert!(fpr <= 1e-12 * 1.0001, "capped k still meets the target: {fpr}");
    }

    #[test]
    fn k_is_capped_where_dolma_is_not() {
        // dolma gives a 1,000-item, 1 MiB filter ~5,815 hash functions.
        assert_eq!(optimal_num_hashes(8 << 20, 1000).unwrap(), MAX_HASHES);
        assert_eq!(optimal_num_hashes(64, 1_000_000).unwrap(), 1);
        assert_eq!(optimal_num_hashes(9_585_059, 1_000_000).unwrap(), 7);
        let f = BloomFilter::from_size(1 << 20, None, 0, Layout::Classic).unwrap();
        assert_eq!((f.num_hashes(), f.num_bits(), f.size_in_bytes()), (DEFAULT_HASHES, 8 << 20, 1 << 20));
        assert_eq!(BloomFilter::from_size(1 << 20, Some(1000), 0, Layout::Classic).unwrap().num_hashes(), MAX_HASHES);
    }

    #[test]
    fn rejects_bad_arguments() {
        for fpr in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(matches!(plan(10, fpr, Layout::Classic), Err(BloomError::InvalidArgument(_))), "fpr {fpr}");
        }
        assert!(plan(0, 0.01, Layout::Blocked).is_err());
        assert!(BloomFilter::from_size(0, None, 0, Layout::Classic).is_err());
        assert!(BloomFilter::from_size(10, Some(0), 0, Layout::Classic).is_err());
        assert!(BloomFilter::new(0, 3, 0).is_err());
        assert!(BloomFilter::new(64, 0, 0).is_err());
        assert!(BloomFilter::new(64, MAX_HASHES + 1, 0).is_err());
        assert!(matches!(BloomFilter::new(u64::MAX, 3, 0), Err(BloomError::InvalidArgument(_))), "no abort");
    }

    #[test]
    fn positions_cover_non_power_of_two_and_huge_sizes() {
        for num_bits in [1u64, 63, 65, 1000, 999_983, (1 << 33) + 17, u64::MAX] {
            let mut seen_high = false;
            for h in keys(2000, num_bits) {
                for_each_position(h, 9, num_bits, |p| {
                    assert!(p < num_bits);
                    seen_high |= p >= num_bits / 2;
                });
            }
            assert!(seen_high || num_bits == 1, "positions reach the upper half for {num_bits} bits");
        }
        // Positions spread evenly over a non-power-of-two range, including past 2^32.
        let num_bits = 3u64 << 32;
        let mut buckets = [0u32; 3];
        for h in keys(30_000, 7) {
            for_each_position(h, 4, num_bits, |p| buckets[(p >> 32) as usize] += 1);
        }
        for b in buckets {
            assert!((b as f64 - 40_000.0).abs() < 1_500.0, "{buckets:?}");
        }
    }

    #[test]
    fn no_false_negatives_and_fpr_close_to_target() {
        let f = BloomFilter::from_expected(100_000, 0.01, 0, Layout::Classic).unwrap();
        let inserted = keys(100_000, 1);
        f.insert(&inserted).unwrap();
        let mut out = vec![false; inserted.len()];
        f.contains(&inserted, &mut out);
        assert!(out.iter().all(|&b| b));
        let probes = keys(200_000, 2);
        let mut out = vec![false; probes.len()];
        f.contains(&probes, &mut out);
        let fpr = out.iter().filter(|&&b| b).count() as f64 / probes.len() as f64;
        assert!(fpr < 0.015 && fpr > 0.006, "fpr {fpr}");
        assert!((f.estimated_fpr() - 0.01).abs() < 0.003, "estimated {}", f.estimated_fpr());
        assert!((f.estimated_items() / 100_000.0 - 1.0).abs() < 0.02);
        // Sequential (non-hashed) keys are mixed before use and behave the same.
        let g = BloomFilter::from_expected(10_000, 0.01, 0, Layout::Classic).unwrap();
        g.insert(&(0..10_000).collect::<Vec<u64>>()).unwrap();
        let probes: Vec<u64> = (1_000_000..1_100_000).collect();
        let mut out = vec![false; probes.len()];
        g.contains(&probes, &mut out);
        assert!((out.iter().filter(|&&b| b).count() as f64) < 1_500.0);
    }

    #[test]
    fn parallel_batches_agree_with_sequential() {
        let f = BloomFilter::new(1 << 20, 5, 0).unwrap();
        let big = keys(3 * PARALLEL_MIN_BATCH as u64, 3);
        f.insert(&big).unwrap();
        let mut out = vec![false; big.len()];
        f.contains(&big, &mut out);
        assert!(out.iter().all(|&b| b));
    }

    #[test]
    fn check_and_insert_is_sequential_within_a_batch() {
        let f = BloomFilter::new(1 << 16, 4, 0).unwrap();
        let mut out = vec![false; 4];
        f.check_and_insert(&[5, 6, 5, 5], &mut out).unwrap();
        assert_eq!(out, [false, false, true, true]);
        f.check_and_insert(&[6, 7, 7, 8], &mut out).unwrap();
        assert_eq!(out, [true, false, true, false]);
    }

    #[test]
    fn fill_ratio_counts_set_bits() {
        let f = BloomFilter::new(100, 1, 0).unwrap();
        assert_eq!(f.fill_ratio(), 0.0);
        f.insert(&[42]).unwrap();
        assert_eq!(f.fill_ratio(), 0.01);
        assert_eq!(f.estimated_fpr(), 0.01);
    }

    #[test]
    fn save_load_round_trip_and_mmap() {
        let dir = tempfile::tempdir().unwrap();
        for num_bits in [1u64 << 16, 1000, 64 * 7 + 5] {
            let f = BloomFilter::new(num_bits, 3, 99).unwrap();
            let ks = keys(300, num_bits);
            f.insert(&ks).unwrap();
            let path = dir.path().join(format!("sub/f{num_bits}.bin"));
            f.save(&path).unwrap();
            assert_eq!(fs::metadata(&path).unwrap().len(), HEADER_LEN as u64 + num_bits.div_ceil(64) * 8);
            for (read_only, mmap) in [(false, false), (true, false), (false, true), (true, true)] {
                let g = BloomFilter::load(&path, read_only, mmap).unwrap();
                assert_eq!((g.num_bits(), g.num_hashes(), g.seed(), g.read_only()), (num_bits, 3, 99, read_only));
                assert_eq!(g.count_ones(), f.count_ones());
                let mut out = vec![false; ks.len()];
                g.contains(&ks, &mut out);
                assert!(out.iter().all(|&b| b));
            }
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(leftovers.len(), 3, "no temporary files left behind");
    }

    #[test]
    fn writable_mmap_is_copy_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        BloomFilter::new(4096, 3, 0).unwrap().save(&path).unwrap();
        let before = fs::read(&path).unwrap();
        let g = BloomFilter::load(&path, false, true).unwrap();
        g.insert(&keys(100, 5)).unwrap();
        assert!(g.count_ones() > 0);
        assert_eq!(fs::read(&path).unwrap(), before);
        g.save(&path).unwrap();
        let h = BloomFilter::load(&path, true, false).unwrap();
        assert_eq!(h.count_ones(), g.count_ones());
    }

    #[test]
    fn read_only_rejects_inserts_and_leaves_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        BloomFilter::new(4096, 3, 0).unwrap().save(&path).unwrap();
        let before = fs::read(&path).unwrap();
        for mmap in [false, true] {
            let g = BloomFilter::load(&path, true, mmap).unwrap();
            assert!(matches!(g.insert(&[1]), Err(BloomError::ReadOnly)));
            let mut out = [false];
            assert!(matches!(g.check_and_insert(&[1], &mut out), Err(BloomError::ReadOnly)));
            let other = BloomFilter::new(4096, 3, 0).unwrap();
            assert!(matches!(g.merge(&other), Err(BloomError::ReadOnly)));
            g.contains(&[1], &mut out);
            assert!(!out[0]);
        }
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn merge_ors_bits_and_checks_shape() {
        let a = BloomFilter::new(10_000, 4, 1).unwrap();
        let b = BloomFilter::new(10_000, 4, 1).unwrap();
        let (ka, kb) = (keys(100, 1), keys(100, 2));
        a.insert(&ka).unwrap();
        b.insert(&kb).unwrap();
        a.merge(&b).unwrap();
        let mut out = vec![false; 200];
        a.contains(&[ka, kb].concat(), &mut out);
        assert!(out.iter().all(|&x| x));
        for other in [BloomFilter::new(10_001, 4, 1), BloomFilter::new(10_000, 5, 1), BloomFilter::new(10_000, 4, 2)] {
            assert!(matches!(a.merge(&other.unwrap()), Err(BloomError::ShapeMismatch(_))));
        }
    }

    #[test]
    fn load_rejects_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        BloomFilter::new(640, 3, 0).unwrap().save(&path).unwrap();
        let good = fs::read(&path).unwrap();
        let corrupt = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = good.clone();
            edit(&mut bytes);
            fs::write(&path, &bytes).unwrap();
            match BloomFilter::load(&path, true, false) {
                Err(BloomError::Format { message, .. }) => message,
                other => panic!("expected a format error, got {:?}", other.map(|_| ())),
            }
        };
        assert!(corrupt(&|b| b[0] = b'X').contains("magic"));
        assert!(corrupt(&|b| b[8] = 3).contains("version"));
        assert!(corrupt(&|b| b[8] = 2).contains("header length"), "a classic header read as blocked");
        assert!(corrupt(&|b| b[24] = 40).contains("hashes"));
        assert!(corrupt(&|b| b[28] = 9).contains("algorithm"));
        assert!(corrupt(&|b| b.truncate(100)).contains("bytes"));
        assert!(corrupt(&|b| b.truncate(10)).contains("header"));
        assert!(corrupt(&|b| b[16..24].copy_from_slice(&700u64.to_le_bytes())).contains("size"));
        let missing = BloomFilter::load(&dir.path().join("nope.bin"), true, false);
        assert!(matches!(missing, Err(BloomError::Io { .. })));
    }

    #[test]
    fn load_rejects_bits_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        BloomFilter::new(100, 3, 0).unwrap().save(&path).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() = 0x80;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(BloomFilter::load(&path, false, false), Err(BloomError::Format { .. })));
    }

    #[test]
    fn blocked_keys_touch_one_cache_line() {
        let num_blocks = 1000;
        for h in keys(5000, 11) {
            let mut bits = Vec::new();
            for_each_block_position(h, MAX_HASHES, num_blocks, |p| bits.push(p));
            let block = bits[0] / BLOCK_BITS;
            assert!(block < num_blocks && bits.iter().all(|&p| p / BLOCK_BITS == block));
            assert_eq!(bits.len(), MAX_HASHES as usize);
            bits.sort_unstable();
            bits.dedup();
            assert!(bits.len() >= MAX_HASHES as usize - 4, "bits of a key are independent, rarely equal");
        }
    }

    #[test]
    fn direct_save_writes_the_buffered_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // sizes that are and are not whole pages, both layouts, new and loaded (read into memory) filters
        for (bits, layout) in
            [(1u64 << 20, Layout::Blocked), (12_345 * 64, Layout::Classic), (3 * 512, Layout::Blocked)]
        {
            let filter = BloomFilter::with_layout(bits, 3, 7, layout).unwrap();
            filter.insert(&keys(5000, 3)).unwrap();
            let (direct, buffered) = (dir.path().join("direct"), dir.path().join("buffered"));
            let Storage::Anonymous(image) = &filter._storage else { panic!("a new filter lives in memory") };
            let writer = filter.lock_writer();
            let took_direct = filter.write_image_direct(image, &direct).unwrap(); // false on a tmpfs without it
            drop(writer);
            filter.write_buffered(&buffered).unwrap();
            if took_direct {
                assert_eq!(fs::read(&direct).unwrap(), fs::read(&buffered).unwrap());
            } else {
                assert!(!direct.exists());
            }
            let loaded = BloomFilter::load(&buffered, false, false).unwrap();
            loaded.save(&direct).unwrap();
            assert_eq!(fs::read(&direct).unwrap(), fs::read(&buffered).unwrap());
        }
    }

    #[test]
    fn blocked_check_and_insert_in_block_order_equals_key_by_key() {
        // Batches large enough for block order and the parallel path, and longer than one ordered chunk, with
        // repeats inside a batch, across its chunks and across batches, against one call per key (the plain
        // sequential loop), on 1 and 3 threads; a small filter, so blocks hold many keys and false positives
        // depend on the order.
        let mut batch = keys(BLOCK_ORDER_MAX_BATCH as u64 + 5_000, 21);
        batch.extend_from_within(..PARALLEL_MIN_BATCH);
        let bits = |f: &BloomFilter| f.words().iter().map(|w| w.load(Ordering::Relaxed)).collect::<Vec<_>>();
        let reference = BloomFilter::with_layout(1 << 20, 5, 0, Layout::Blocked).unwrap();
        let answers: Vec<Vec<bool>> = (0..2)
            .map(|_| {
                batch
                    .iter()
                    .map(|&h| {
                        let mut one = [false];
                        reference.check_and_insert(&[h], &mut one).unwrap();
                        one[0]
                    })
                    .collect()
            })
            .collect();
        assert!(answers[0].iter().any(|&x| x) && answers[0].iter().any(|&x| !x));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let filter = BloomFilter::with_layout(1 << 20, 5, 0, Layout::Blocked).unwrap();
            for (round, expected) in answers.iter().enumerate() {
                let mut out = vec![false; batch.len()];
                pool.install(|| filter.check_and_insert(&batch, &mut out)).unwrap();
                assert_eq!(&out, expected, "{threads} threads, round {round}");
            }
            assert_eq!(bits(&filter), bits(&reference), "{threads} threads");
            let probes = [&batch[..1000], &keys(PARALLEL_MIN_BATCH as u64, 22)[..]].concat();
            let mut found = vec![false; probes.len()];
            pool.install(|| filter.contains(&probes, &mut found));
            let one_by_one: Vec<bool> = probes.iter().map(|&h| reference.contains_one(reference.words(), h)).collect();
            assert_eq!(found, one_by_one, "{threads} threads");
            assert!(found[..1000].iter().all(|&x| x) && found.iter().any(|&x| !x));
        }
    }

    #[test]
    fn block_order_is_stable_and_bounds_its_regions() {
        let num_blocks = 40_000;
        let hashes = keys(20_000, 5);
        let (sorted, bounds) = block_order(&hashes, num_blocks);
        assert_eq!(bounds.len(), (num_blocks as usize - 1) / REGION_BLOCKS as usize + 2);
        assert_eq!(*bounds.last().unwrap() as usize, hashes.len());
        for r in 0..bounds.len() - 1 {
            let region = &sorted[bounds[r] as usize..bounds[r + 1] as usize];
            assert!(region.iter().all(|&(h, _)| block_of(h, num_blocks) / REGION_BLOCKS == r as u64));
            assert!(region.windows(2).all(|w| w[0].1 < w[1].1), "batch order within a region");
        }
        let mut indices: Vec<u32> = sorted
            .iter()
            .map(|&(h, i)| {
                assert_eq!(hashes[i as usize], h);
                i
            })
            .collect();
        indices.sort_unstable();
        assert!(indices.iter().enumerate().all(|(i, &j)| i as u32 == j));
    }

    #[test]
    fn blocked_fpr_meets_the_planned_rate() {
        for (n, fpr) in [(200_000u64, 0.01), (200_000, 0.001)] {
            let f = BloomFilter::from_expected(n, fpr, 0, Layout::Blocked).unwrap();
            assert_eq!(f.num_bits() % BLOCK_BITS, 0);
            let (classic_bits, _) = plan(n, fpr, Layout::Classic).unwrap();
            assert!(f.num_bits() >= classic_bits && f.num_bits() < classic_bits * 13 / 10, "{}", f.num_bits());
            f.insert(&keys(n, 1)).unwrap();
            let probes = keys(2_000_000, 2);
            let mut out = vec![false; probes.len()];
            f.contains(&probes, &mut out);
            let measured = out.iter().filter(|&&b| b).count() as f64 / probes.len() as f64;
            let predicted = expected_fpr(Layout::Blocked, f.num_bits(), f.num_hashes(), n as f64);
            assert!(predicted <= fpr, "planned {predicted} > {fpr}");
            assert!(measured <= fpr * 1.1, "measured {measured} over {fpr}");
            assert!((measured / predicted - 1.0).abs() < 0.15, "measured {measured} vs predicted {predicted}");
            assert!((f.estimated_fpr() / predicted - 1.0).abs() < 0.15, "estimated {}", f.estimated_fpr());
            assert!((f.estimated_items() / n as f64 - 1.0).abs() < 0.02, "items {}", f.estimated_items());
        }
    }

    #[test]
    fn both_formats_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        for layout in [Layout::Classic, Layout::Blocked] {
            let f = BloomFilter::with_layout(1 << 16, 4, 5, layout).unwrap();
            let ks = keys(2000, 3);
            f.insert(&ks).unwrap();
            let path = dir.path().join(format!("{}.bin", layout.name()));
            f.save(&path).unwrap();
            let bytes = fs::read(&path).unwrap();
            assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), layout.format_version());
            assert_eq!(bytes.len(), layout.header_len() + (1 << 16) / 8);
            for mmap in [false, true] {
                let g = BloomFilter::load(&path, false, mmap).unwrap();
                assert_eq!(g.layout(), layout);
                let mut out = vec![false; ks.len()];
                g.check_and_insert(&ks, &mut out).unwrap();
                assert!(out.iter().all(|&b| b));
            }
        }
        let classic = BloomFilter::new(1 << 16, 4, 5).unwrap();
        let blocked = BloomFilter::with_layout(1 << 16, 4, 5, Layout::Blocked).unwrap();
        assert!(matches!(classic.merge(&blocked), Err(BloomError::ShapeMismatch(_))));
    }
}
