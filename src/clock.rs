//! Wall-clock time as the APIs write it: Unix seconds for `created` fields, RFC 3339 for Ollama
//! and Anthropic timestamps.

/// Seconds since the Unix epoch, for `created` fields.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Unix seconds as an RFC 3339 UTC timestamp (`1970-01-01T00:00:00Z`), without a date crate.
pub fn rfc3339(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(crate::clock::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(crate::clock::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(crate::clock::rfc3339(1_715_367_049), "2024-05-10T18:50:49Z");
        assert_eq!(crate::clock::rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
