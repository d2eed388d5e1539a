//! Parquet in the profile Power BI's reader takes: format 1.0 writer, v1 data pages, PLAIN and
//! dictionary encodings, Snappy, plain `Utf8` strings, no Arrow schema blob.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{WriterProperties, WriterVersion};

use super::{io_err, WarehouseError};

pub fn bi_safe_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_created_by("lantern".to_string())
        .set_max_row_group_row_count(Some(256 * 1024))
        .build()
}

/// One Parquet file being written.
pub struct PartWriter {
    pub path: PathBuf,
    writer: ArrowWriter<File>,
    pub rows: u64,
}

impl PartWriter {
    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self, WarehouseError> {
        std::fs::create_dir_all(path.parent().unwrap()).map_err(io_err(path))?;
        let file = File::create(path).map_err(io_err(path))?;
        let options = ArrowWriterOptions::new().with_properties(bi_safe_properties()).with_skip_arrow_metadata(true);
        let writer = ArrowWriter::try_new_with_options(file, Arc::clone(&schema), options)?;
        Ok(PartWriter { path: path.to_path_buf(), writer, rows: 0 })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WarehouseError> {
        if batch.num_rows() > 0 {
            self.writer.write(batch)?;
            self.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<u64, WarehouseError> {
        self.writer.close()?;
        Ok(self.rows)
    }
}

/// A Parquet file encoded on a thread of its own, so the thread that decides which rows go where
/// does not also wait on their encoding: batches are handed over (at most `AHEAD` waiting) and
/// `finish` returns when the file is closed. A writer dropped without `finish` (the file failed)
/// still waits for its thread, so nothing writes to the file after its owner has moved on.
pub struct BackgroundWriter {
    pub path: PathBuf,
    tx: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    thread: Option<std::thread::JoinHandle<Result<u64, WarehouseError>>>,
}

impl BackgroundWriter {
    const AHEAD: usize = 2;

    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self, WarehouseError> {
        let mut w = PartWriter::create(path, schema)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(Self::AHEAD);
        let thread = std::thread::Builder::new()
            .name("parquet-writer".into())
            .spawn(move || {
                for batch in rx {
                    w.write(&batch)?;
                }
                w.finish()
            })
            .map_err(io_err(path))?;
        Ok(BackgroundWriter { path: path.to_path_buf(), tx: Some(tx), thread: Some(thread) })
    }

    pub fn write(&mut self, batch: RecordBatch) -> Result<(), WarehouseError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        match self.tx.as_ref().map(|tx| tx.send(batch)) {
            Some(Ok(())) => Ok(()),
            // the thread stopped on an error: that error is the answer
            _ => self.join().map(|_| ()),
        }
    }

    /// Closes the file: every batch encoded and the footer written. The rows written.
    pub fn finish(mut self) -> Result<u64, WarehouseError> {
        self.join()
    }

    fn join(&mut self) -> Result<u64, WarehouseError> {
        self.tx = None;
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| Err(WarehouseError::Io { path: self.path.display().to_string(), source: std::io::Error::other("the Parquet writer's thread panicked") })),
            None => Err(WarehouseError::Io { path: self.path.display().to_string(), source: std::io::Error::other("the Parquet writer had already stopped") }),
        }
    }
}

impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join();
        }
    }
}
