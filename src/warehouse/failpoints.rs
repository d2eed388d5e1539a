//! The warehouse's failure points that need more than a `fail_point!` where they fire (test
//! builds only: the `failpoints` feature). `store-commit-request` fails a store request made
//! during a commit: `FAILPOINTS='store-commit-request=19*off->return'` lets a commit's first 19
//! requests through and fails the 20th and every one after (the store going away mid-commit).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::remote::CommitRequests;

/// `store` with its requests checked against the failure point while `commit` is under way.
pub fn wrap(store: Arc<dyn ObjectStore>, commit: Arc<CommitRequests>) -> Arc<dyn ObjectStore> {
    Arc::new(FaultyStore { inner: store, faults: commit })
}

fn check(commit: &CommitRequests, what: &str, path: &ObjPath) -> object_store::Result<()> {
    if !commit.under_way.load(Ordering::SeqCst) {
        return Ok(());
    }
    let n = commit.count.fetch_add(1, Ordering::SeqCst) + 1;
    fail::fail_point!("store-commit-request", |_| Err(object_store::Error::Generic {
        store: "failpoint",
        source: format!("failpoint store-commit-request: request {n} of the commit ({what} {path}) failed").into(),
    }));
    Ok(())
}

/// A store whose requests, during a commit, pass the `store-commit-request` failure point.
#[derive(Debug)]
struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<CommitRequests>,
}

impl std::fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(&self, location: &ObjPath, payload: PutPayload, opts: PutOptions) -> object_store::Result<PutResult> {
        check(&self.faults, "PUT", location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &ObjPath, opts: PutMultipartOptions) -> object_store::Result<Box<dyn MultipartUpload>> {
        check(&self.faults, "multipart PUT", location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjPath, options: GetOptions) -> object_store::Result<GetResult> {
        check(&self.faults, "GET", location)?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, object_store::Result<ObjPath>>) -> BoxStream<'static, object_store::Result<ObjPath>> {
        let faults = self.faults.clone();
        let checked = locations.and_then(move |p| {
            let r = check(&faults, "DELETE", &p).map(|_| p);
            futures::future::ready(r)
        });
        self.inner.delete_stream(checked.boxed())
    }

    fn list(&self, prefix: Option<&ObjPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        if let Err(e) = check(&self.faults, "LIST", prefix.unwrap_or(&ObjPath::default())) {
            return futures::stream::once(futures::future::ready(Err(e))).boxed();
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjPath>) -> object_store::Result<ListResult> {
        check(&self.faults, "LIST", prefix.unwrap_or(&ObjPath::default()))?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &ObjPath, to: &ObjPath, options: CopyOptions) -> object_store::Result<()> {
        check(&self.faults, "COPY", to)?;
        self.inner.copy_opts(from, to, options).await
    }
}

