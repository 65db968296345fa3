//! What a `chat-ctl` run (or any command run to its end) did.

/// What a `chat-ctl` run did.
#[derive(Debug)]
pub struct Ctl {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Ctl {
    /// Asserts exit 0 and returns stdout.
    pub fn success(&self) -> &str {
        assert_eq!(self.code, 0, "chat-ctl failed: {self:?}");
        &self.stdout
    }

    /// Asserts exit 0 and parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.success()).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts the exit code and that stderr is exactly one line.
    pub fn fails_with(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "unexpected exit code: {self:?}");
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "stderr is not one line: {self:?}"
        );
        &self.stderr
    }
}
