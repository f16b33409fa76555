//! Writing a large file that must be on disk once it is done, without a long wait at
//! the end: every few megabytes a helper thread flushes what has been written so far
//! while the writing goes on, so that the closing `fsync` has little left to wait for.
//! A million-row report is a hundred megabytes; flushed only at the end, its `fsync`
//! was a tenth of the whole dry run.

use std::fs::File;
use std::io::{self, Write};
use std::thread::JoinHandle;

/// Bytes written between flushes.
const FLUSH_EVERY: usize = 16 << 20;

/// Writes to a file and flushes its data to disk along the way.
pub struct FlushingWriter<'f> {
    file: &'f File,
    unflushed: usize,
    flushing: Option<JoinHandle<io::Result<()>>>,
}

impl<'f> FlushingWriter<'f> {
    /// Writes to `file` from where it stands.
    pub fn new(file: &'f File) -> FlushingWriter<'f> {
        FlushingWriter {
            file,
            unflushed: 0,
            flushing: None,
        }
    }

    /// Waits for the flush under way, then puts the whole file on disk.
    pub fn finish(mut self) -> io::Result<()> {
        self.wait_for_flush()?;
        self.file.sync_all()
    }

    /// Starts flushing what was written so far, unless a flush is still under way:
    /// then the next write tries again.
    fn start_flush(&mut self) -> io::Result<()> {
        if self.flushing.as_ref().is_some_and(|f| !f.is_finished()) {
            return Ok(());
        }
        self.wait_for_flush()?;
        let file = self.file.try_clone()?;
        self.flushing = Some(std::thread::spawn(move || file.sync_data()));
        self.unflushed = 0;
        Ok(())
    }

    fn wait_for_flush(&mut self) -> io::Result<()> {
        match self.flushing.take() {
            Some(flushing) => flushing
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the flushing thread stopped"))),
            None => Ok(()),
        }
    }
}

impl Write for FlushingWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = (&mut &*self.file).write(bytes)?;
        self.unflushed += written;
        if self.unflushed >= FLUSH_EVERY {
            self.start_flush()?;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&mut &*self.file).flush()
    }
}

impl Drop for FlushingWriter<'_> {
    /// A writer dropped on an error still waits for its thread, which holds a handle
    /// to the file.
    fn drop(&mut self) {
        let _ = self.wait_for_flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn what_is_written_across_several_flushes_is_the_file() {
        let mut file = tempfile::tempfile().expect("a temp file");
        let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        {
            let mut writer = FlushingWriter::new(&file);
            for _ in 0..40 {
                writer.write_all(&block).expect("write");
            }
            writer.finish().expect("finish");
        }
        let mut back = Vec::new();
        use std::io::Seek;
        file.rewind().expect("rewind");
        file.read_to_end(&mut back).expect("read");
        assert_eq!(back.len(), 40 << 20);
        assert!(back.chunks(1 << 20).all(|chunk| chunk == block.as_slice()));
    }
}
