use domain::Invalid;

/// Why a use case refused. Each variant maps to one HTTP status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Email or phone already belongs to an account.
    #[error("{0} already in use")]
    Taken(&'static str),
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("sign in required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// The account is suspended by staff: no sign-in, no API key.
    #[error("this account is suspended; write to us from the contact page if you think this is a mistake")]
    Suspended,
    #[error("not found")]
    NotFound,
    #[error("this link or code is invalid or has expired")]
    InvalidToken,
    #[error("the code is wrong or has expired")]
    InvalidCode,
    #[error("too many attempts; try again {}", domain::time::wait_words(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    /// An API key's images for the UTC day are used up.
    #[error("this API key may make {limit} images a day; try again {}", domain::time::wait_words(*retry_after_secs))]
    DailyLimit { limit: i64, retry_after_secs: u64 },
    /// A once-only action (such as today's reward) was already taken.
    #[error("already done; try again {}", domain::time::wait_words(*retry_after_secs))]
    AlreadyDone { retry_after_secs: u64 },
    /// The balance cannot cover the quote.
    #[error("this needs {needed} tokens and your balance is {balance}")]
    InsufficientTokens { needed: i64, balance: i64 },
    /// The thing is still being worked on.
    #[error("still in progress; try again when it has finished")]
    Busy,
    /// Asked to stop something that had already finished.
    #[error("this has already finished")]
    AlreadyEnded,
    /// An upload over the byte limit.
    #[error("the file is larger than {limit_mb} MB")]
    TooLarge { limit_mb: u64 },
    /// The engine refused an image: `code` is the imaging crate's stable code.
    #[error("{message}")]
    Image { code: &'static str, message: String },
    #[error("could not deliver the message; try again shortly")]
    Delivery,
    /// A payment (or a webhook) failed a check; nothing was granted.
    #[error("{message}")]
    PaymentRejected { code: &'static str, message: String },
    /// An outside service (Razorpay) failed or refused; safe to try again.
    #[error("the payment service is unavailable: {0}")]
    Upstream(String),
    /// This installation does not offer the feature named.
    #[error("{0} is not available here")]
    Unavailable(&'static str),
    /// The database or the blob store did not answer (restarting, unreachable): the seller
    /// is asked to send the same request again shortly.
    #[error("we could not reach our storage just now; please try again in a moment")]
    Outage(String),
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(i) => i.code,
            AppError::Taken("email") => "email_taken",
            AppError::Taken("phone") => "phone_taken",
            AppError::Taken(_) => "conflict",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Suspended => "account_suspended",
            AppError::NotFound => "not_found",
            AppError::InvalidToken => "invalid_or_expired_token",
            AppError::InvalidCode => "invalid_code",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::DailyLimit { .. } => "daily_limit_reached",
            AppError::AlreadyDone { .. } => "already_claimed",
            AppError::InsufficientTokens { .. } => "insufficient_tokens",
            AppError::Busy => "in_progress",
            AppError::AlreadyEnded => "already_finished",
            AppError::TooLarge { .. } => "file_too_large",
            AppError::Image { code, .. } => code,
            AppError::Delivery => "delivery_failed",
            AppError::PaymentRejected { code, .. } => code,
            AppError::Upstream(_) => "payment_provider_unavailable",
            AppError::Unavailable(_) => "unavailable",
            AppError::Outage(_) => "temporarily_unavailable",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<db::DbError> for AppError {
    fn from(e: db::DbError) -> Self {
        match e {
            db::DbError::NotFound => AppError::NotFound,
            db::DbError::Conflict(field) => AppError::Taken(field),
            other if other.is_outage() => AppError::Outage(other.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<storage::StorageError> for AppError {
    /// A blob a row names is always there and opens with its key, and the store takes our
    /// credentials, so only an unreachable store is anything but a fault of ours.
    fn from(e: storage::StorageError) -> Self {
        match e {
            storage::StorageError::Backend(_) => AppError::Outage(format!("blob store: {e}")),
            other => AppError::Internal(format!("blob: {other}")),
        }
    }
}
