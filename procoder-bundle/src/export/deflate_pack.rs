//! The pack goes into the zip deflated, not stored: a pack's entries are each deflated on
//! their own, and deflating the whole file again still takes 3-5% off (git.git's 307 MB
//! pack: 9.1 MB at level 1, 9.6 MB at level 6; libgit2 4.6%, ripgrep 3.3%), which is what
//! `zip -r` of a clone gets too. Level 1: level 6 gains 0.2% more for 50% more time.
//!
//! Deflating 307 MB takes 8 s, so it runs on a thread of its own from the pack's first byte:
//! the thread follows the pack file as [`write_export_pack`](crate::write_export_pack) writes
//! it (told how far the file is on disk), into a zip of its own in the scratch folder, while
//! the export goes on to the work tree; at the end its entry is copied into the package as
//! it is (`raw_copy_file_rename`), under the pack's name, known only once it is written.

use super::{ioerr, zerr};
use procoder_manifest::{Failure, Result};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// The deflate level of the pack's zip entry.
pub const LEVEL: u32 = 1;

/// `Shared::end` while the pack is still being written.
const WRITING: u64 = u64::MAX;
/// `Shared::end` when the export failed: the thread stops.
const ABANDONED: u64 = u64::MAX - 1;

/// What the writer tells the thread.
#[derive(Default)]
struct Shared {
    /// Bytes of the pack file on disk (readable by another handle).
    on_disk: AtomicU64,
    /// The pack's final length, or `WRITING` or `ABANDONED`.
    end: AtomicU64,
}

/// The pack's zip entry being deflated.
pub struct Deflating {
    thread: Option<JoinHandle<std::io::Result<()>>>,
    shared: Arc<Shared>,
    zip: PathBuf,
}

/// Starts deflating the pack file `pack` (being written: see [`Deflating::on_disk`]) into a
/// zip in `scratch`, its entry having `opts`' time and mode.
pub fn start(pack: &Path, opts: SimpleFileOptions, scratch: &Path) -> Result<Deflating> {
    std::fs::create_dir_all(scratch).map_err(ioerr("the pack"))?;
    let zip = scratch.join("pack.zip");
    let out = std::fs::File::create(&zip).map_err(ioerr("the pack"))?;
    // Created here, so the thread's handle reads what the writer writes to its own.
    let src = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(pack)
        .map_err(ioerr("the pack"))?;
    let shared = Arc::new(Shared {
        on_disk: AtomicU64::new(0),
        end: AtomicU64::new(WRITING),
    });
    let opts = opts
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(i64::from(LEVEL)))
        // A pack can pass 4 GiB; the sizes are not known when the entry starts.
        .large_file(true);
    let theirs = Arc::clone(&shared);
    let thread = std::thread::spawn(move || follow(src, out, opts, &theirs));
    Ok(Deflating {
        thread: Some(thread),
        shared,
        zip,
    })
}

/// The thread: deflates the pack file as it grows, until its final length is known and read.
fn follow(
    mut src: std::fs::File,
    out: std::fs::File,
    opts: SimpleFileOptions,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut z = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, out));
    z.start_file("pack", opts)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    loop {
        let end = shared.end.load(Ordering::Acquire);
        if end == ABANDONED {
            return Ok(());
        }
        let ready = shared.on_disk.load(Ordering::Acquire);
        if pos >= ready {
            if end != WRITING && pos >= end {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            continue;
        }
        let n = (ready - pos).min(buf.len() as u64) as usize;
        src.read_exact(&mut buf[..n])?;
        z.write_all(&buf[..n])?;
        pos += n as u64;
    }
    z.finish()?.flush()
}

impl Deflating {
    /// The pack file has `bytes` on disk.
    pub fn on_disk(&self, bytes: u64) {
        self.shared.on_disk.store(bytes, Ordering::Release);
    }

    /// The pack file is complete at `bytes`.
    pub fn written(&self, bytes: u64) {
        self.on_disk(bytes);
        self.shared.end.store(bytes, Ordering::Release);
    }

    /// Waits for the deflate and copies its entry into `zip` as `name`.
    pub fn finish<W: Write + Seek>(
        mut self,
        zip: &mut zip::ZipWriter<W>,
        name: &str,
    ) -> Result<()> {
        let done = match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| {
                Failure::internal(
                    "cannot deflate the pack",
                    std::io::Error::other("the deflating thread panicked"),
                )
            })?,
            None => Ok(()),
        };
        done.map_err(ioerr("the pack"))?;
        let file = std::fs::File::open(&self.zip).map_err(ioerr("the pack"))?;
        let mut src = zip::ZipArchive::new(std::io::BufReader::with_capacity(1 << 20, file))
            .map_err(zerr("the pack"))?;
        let entry = src.by_index_raw(0).map_err(zerr("the pack"))?;
        zip.raw_copy_file_rename(entry, name)
            .map_err(zerr("the pack"))
    }
}

impl Drop for Deflating {
    /// An export that failed stops the thread rather than leave it waiting.
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.end.store(ABANDONED, Ordering::Release);
            // Its result is of no use now: the export already failed.
            let _ = thread.join();
        }
    }
}
