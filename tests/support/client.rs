//! The library's IBM Cloud client, made for a test: [`Connect`] fills in what every test
//! client shares (a loopback endpoint, no progress bar) and names only what differs.

use std::time::Duration;

use orgsync::iam::{Client, ClientOptions, Endpoints, RetryPolicy};
use secrecy::SecretString;

use super::STUB_KEY;

/// `Connect::to(url).key(..).parallelism(..).timeout(..).deadline(..).retries(..).client()`.
pub struct Connect {
    url: String,
    key: String,
    parallelism: usize,
    timeout: Duration,
    deadline: Duration,
    retries: Option<RetryPolicy>,
}

impl Connect {
    /// [`STUB_KEY`], 4 requests in flight, 5 s a request, 20 s a call, the client's own
    /// retry policy.
    pub fn to(url: &str) -> Connect {
        Connect {
            url: url.into(),
            key: STUB_KEY.into(),
            parallelism: 4,
            timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            retries: None,
        }
    }

    pub fn key(mut self, key: &str) -> Connect {
        self.key = key.into();
        self
    }

    pub fn parallelism(mut self, parallelism: usize) -> Connect {
        self.parallelism = parallelism;
        self
    }

    /// The timeout of one request.
    pub fn timeout(mut self, timeout: Duration) -> Connect {
        self.timeout = timeout;
        self
    }

    /// The deadline of one call, retries included.
    pub fn deadline(mut self, deadline: Duration) -> Connect {
        self.deadline = deadline;
        self
    }

    pub fn retries(mut self, policy: RetryPolicy) -> Connect {
        self.retries = Some(policy);
        self
    }

    pub fn options(&self) -> ClientOptions {
        let endpoints = match Endpoints::resolve(Some(&self.url), "", "") {
            Ok(e) => e,
            Err(e) => panic!("{} is not an endpoint: {e}", self.url),
        };
        ClientOptions {
            endpoints,
            api_key: SecretString::from(self.key.clone()),
            parallelism: self.parallelism,
            timeout: self.timeout,
            deadline: self.deadline,
            progress: false,
        }
    }

    pub fn client(self) -> Client {
        let options = self.options();
        let built = match self.retries {
            Some(policy) => Client::with_policy(options, policy),
            None => Client::new(options),
        };
        match built {
            Ok(client) => client,
            Err(e) => panic!("cannot build the client: {e}"),
        }
    }
}
