//! S3 and S3-compatible stores (Supabase, MinIO, R2, moto) through aws-sdk-s3.
//!
//! Path-style addressing, and checksums only "when required": recent SDKs send
//! CRC32 checksums in aws-chunked trailers, which many compatible stores refuse.
//! PutObject streams the spooled file with its length known.

use super::{Object, Storage, StorageError};
use crate::config::S3Config;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::Duration;

pub struct S3Storage {
    client: Client,
    bucket: String,
    region: String,
}

impl S3Storage {
    pub fn new(config: &S3Config) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let credentials = Credentials::new(
            config.access_key_id.clone(),
            config.secret_access_key.expose_secret().to_string(),
            config
                .session_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            None,
            "environment",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(config.timeout)
                    .build(),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        S3Storage {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            region: config.region.clone(),
        }
    }
}

/// The whole error chain, for logs (the SDK's `Display` says only "service error").
fn unavailable<E, R>(e: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StorageError::Unavailable(DisplayErrorContext(&e).to_string())
}

#[async_trait::async_trait]
impl Storage for S3Storage {
    fn kind(&self) -> &'static str {
        "s3"
    }

    #[tracing::instrument(skip_all, fields(key))]
    async fn put(
        &self,
        key: &str,
        path: &Path,
        len: u64,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let body = ByteStream::read_from()
            .path(path)
            .length(aws_sdk_s3::primitives::Length::Exact(len))
            .build()
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(len as i64)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(key))]
    async fn get(&self, key: &str) -> Result<Object, StorageError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Object {
                len: out.content_length().and_then(|l| u64::try_from(l).ok()),
                body: tokio_util::io::ReaderStream::new(out.body.into_async_read()).boxed(),
            }),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Err(StorageError::NotFound)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    #[tracing::instrument(skip_all, fields(key))]
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The bucket answers; a missing one is created (a first run against MinIO or
    /// moto). Stores that refuse to create it say why.
    async fn check(&self) -> Result<(), StorageError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.raw_response().map(|r| r.status().as_u16()) == Some(404)
                    || e.as_service_error().and_then(|s| s.code()) == Some("NotFound") =>
            {
                let mut create = self.client.create_bucket().bucket(&self.bucket);
                // us-east-1 is the default and must not be named.
                if self.region != "us-east-1" {
                    create = create.create_bucket_configuration(
                        aws_sdk_s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(self.region.as_str().into())
                            .build(),
                    );
                }
                create.send().await.map_err(unavailable)?;
                tracing::info!(bucket = %self.bucket, "created the storage bucket");
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
