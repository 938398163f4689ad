//! Login rate limits: per client IP and per account, in fixed windows counted
//! in Redis (shared by every api node) or in-process when Redis is away.

use crate::config::Config;
use crate::error::ApiError;
use crate::kv::Kv;

/// Counts a login attempt; fails with 429 and `Retry-After` once either the
/// IP's or the account's budget for the window is spent.
pub async fn check_login(kv: &Kv, config: &Config, ip: &str, email: &str) -> Result<(), ApiError> {
    let window = config.login_limit_window;
    let (ip_count, ip_reset) = kv.hit(&format!("rl:login:ip:{ip}"), window).await;
    let account = email.trim().to_lowercase();
    let (account_count, account_reset) = kv.hit(&format!("rl:login:acct:{account}"), window).await;
    if ip_count > u64::from(config.login_limit_per_ip) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: ip_reset,
        });
    }
    if account_count > u64::from(config.login_limit_per_account) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: account_reset,
        });
    }
    Ok(())
}
