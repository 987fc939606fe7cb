//! vLLM release numbers and the list of releases the catalog knows about.

use std::fmt;
use std::str::FromStr;

/// A vLLM release, `major.minor.patch` (post-release suffixes are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

/// Shorthand used by the catalog tables.
pub const fn v(major: u16, minor: u16, patch: u16) -> Version {
    Version {
        major,
        minor,
        patch,
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid vLLM version {0:?}: expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 0.11 or 0.8.5"
)]
pub struct VersionParseError(pub String);

impl FromStr for Version {
    type Err = VersionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || VersionParseError(s.to_string());
        let core = s.trim().trim_start_matches('v');
        // "0.4.0.post1" and "0.11.0rc2" count as their base release.
        let mut parts = core.split('.');
        let mut num = |required: bool| -> Result<u16, VersionParseError> {
            match parts.next() {
                Some(p) => {
                    let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
                    if digits.is_empty() {
                        return Err(err());
                    }
                    digits.parse().map_err(|_| err())
                }
                None if required => Err(err()),
                None => Ok(0),
            }
        };
        Ok(v(num(true)?, num(true)?, num(false)?))
    }
}

/// Every release whose metric set the catalog describes, oldest first. Version
/// sniffing picks from this list, so a release missing here cannot be reported.
pub const RELEASES: &[Version] = &[
    v(0, 2, 0),
    v(0, 3, 0),
    v(0, 4, 0),
    v(0, 5, 0),
    v(0, 5, 5),
    v(0, 6, 0),
    v(0, 6, 6),
    v(0, 7, 0),
    v(0, 7, 3),
    v(0, 8, 0),
    v(0, 8, 3),
    v(0, 8, 4),
    v(0, 8, 5),
    v(0, 9, 0),
    v(0, 9, 1),
    v(0, 9, 2),
    v(0, 10, 0),
    v(0, 10, 2),
    v(0, 11, 0),
    v(0, 11, 2),
    v(0, 12, 0),
    v(0, 13, 0),
    v(0, 14, 0),
    v(0, 15, 0),
    v(0, 16, 0),
    v(0, 17, 0),
    v(0, 18, 0),
    v(0, 19, 0),
    v(0, 20, 0),
    v(0, 21, 0),
    v(0, 22, 0),
    v(0, 23, 0),
    v(0, 24, 0),
    v(0, 25, 0),
    v(0, 26, 0),
    v(0, 27, 0),
    v(0, 28, 0),
    v(0, 29, 0),
    v(0, 30, 0),
    v(0, 31, 0),
    v(0, 32, 0),
    v(0, 33, 0),
    v(0, 34, 0),
];

/// The newest release the catalog knows.
pub const LATEST: Version = v(0, 34, 0);

/// First release whose default engine is V1 (`VLLM_USE_V1` defaults to 1).
pub const V1_DEFAULT_FROM: Version = v(0, 8, 0);
/// First V1 release that exposes Prometheus metrics.
pub const V1_METRICS_FROM: Version = v(0, 7, 3);
/// Last release that still ships the V0 engine.
pub const V0_LAST: Version = v(0, 11, 0);
/// First V1 release with the data-parallel `engine` label.
pub const ENGINE_LABEL_FROM: Version = v(0, 8, 3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_long_and_suffixed_versions() {
        assert_eq!("0.11".parse::<Version>(), Ok(v(0, 11, 0)));
        assert_eq!("0.8.5".parse::<Version>(), Ok(v(0, 8, 5)));
        assert_eq!("0.4.0.post1".parse::<Version>(), Ok(v(0, 4, 0)));
        assert_eq!("v0.10.2rc1".parse::<Version>(), Ok(v(0, 10, 2)));
        assert!("latest".parse::<Version>().is_err());
        assert!("0".parse::<Version>().is_err());
    }

    #[test]
    fn releases_are_sorted_and_end_at_latest() {
        assert!(RELEASES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(RELEASES.last(), Some(&LATEST));
    }
}
