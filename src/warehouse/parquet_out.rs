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
