//! Phone numbers: parsed and validated with libphonenumber's metadata (the
//! `phonenumber` crate), stored in E.164. Numbers without a country code are
//! read as Russian (the clinics' home region); a Russian `8` trunk prefix is
//! understood.

use phonenumber::country::Id;
use phonenumber::Mode;

/// The number in E.164 (`+79161234567`), or `None` when it is not a valid
/// phone number.
pub fn normalize(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty()
        || trimmed.len() > 32
        || !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
        || trimmed.chars().skip(1).any(|c| c == '+')
    {
        return None;
    }
    let number = phonenumber::parse(Some(Id::RU), trimmed).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_e164_or_are_refused() {
        assert_eq!(
            normalize("+7 (916) 123-45-67").as_deref(),
            Some("+79161234567")
        );
        assert_eq!(
            normalize("8 916 123 45 67").as_deref(),
            Some("+79161234567")
        );
        assert_eq!(normalize("+49 30 901820").as_deref(), Some("+4930901820"));
        for bad in [
            "",
            "12345",
            "+7 916 abc",
            "++79161234567",
            "+7916+1234567",
            "not a phone",
            "+7 000 000 00 00",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
