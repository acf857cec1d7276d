//! paraf on AWS: adapters that implement the core's ports on DynamoDB ([`DynamoTable`]),
//! S3 ([`S3Blobs`]), Step Functions ([`SfnWorkflows`]), KMS ([`KmsSigner`], [`KmsCa`]) and
//! SES v2 ([`SesMailer`]), and the Lambda functions' configuration ([`config`]).

pub mod blobs;
pub mod config;
pub mod mailer;
pub mod signer;
pub mod table;
pub mod workflows;

pub use blobs::{create_archive_bucket, S3Blobs};
pub use mailer::SesMailer;
pub use signer::{CaIssuer, KmsCa, KmsSigner};
pub use table::{create_table, DynamoTable};
pub use workflows::SfnWorkflows;

use aws_config::{BehaviorVersion, SdkConfig};

/// The SDK clients paraf uses, built once from one [`SdkConfig`].
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl AwsClients {
    /// Reads region, credentials and `AWS_ENDPOINT_URL` from the environment (the default
    /// provider chain) and builds every client.
    pub async fn load() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_config(&config)
    }

    /// Builds every client from `config`. With an endpoint override S3 uses path-style
    /// addressing (`http://host:port/bucket/key`), as emulators need.
    pub fn from_config(config: &SdkConfig) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            kms: aws_sdk_kms::Client::new(config),
            sesv2: aws_sdk_sesv2::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
        }
    }
}
