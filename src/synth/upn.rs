//! Unique pupil numbers: a check letter, the LA code (3 digits), the establishment number
//! (4 digits), the 2-digit year of issue and a 3-digit serial.
//!
//! The check letter is the DfE's modulus-23 check (CBDS N00001; the govtalk data standard
//! "Unique Pupil Number 2.0"; CIN census rule 1510 as csc-validator-be-cin implements it):
//! multiply the characters at positions 2 to 13 by their position (2 … 13), add the products,
//! take the remainder on division by 23 and look it up in `ABCDEFGHJKLMNPQRTUVWXYZ` (the
//! alphabet without I, O and S).

const LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// The check letter for the 12 characters after it (digits; a temporary UPN's final letter
/// counts as its position in `LETTERS`).
pub fn check_letter(rest: &str) -> Option<char> {
    let b = rest.as_bytes();
    if b.len() != 12 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &c) in b.iter().enumerate() {
        let v = if c.is_ascii_digit() {
            (c - b'0') as u32
        } else if i == 11 {
            LETTERS.iter().position(|&l| l == c.to_ascii_uppercase())? as u32
        } else {
            return None;
        };
        sum += v * (i as u32 + 2);
    }
    Some(LETTERS[(sum % 23) as usize] as char)
}

/// A permanent UPN.
pub fn make(la: &str, estab: u16, year: i32, serial: u16) -> String {
    let rest = format!("{la:0>3}{estab:04}{:02}{serial:03}", year.rem_euclid(100));
    let c = check_letter(&rest).expect("twelve digits");
    format!("{c}{rest}")
}

/// Whether `upn` is 13 characters with the right check letter.
pub fn is_valid(upn: &str) -> bool {
    upn.len() == 13 && upn.is_ascii() && check_letter(&upn[1..]).is_some_and(|c| upn.as_bytes()[0] == c as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_letters_match_published_examples() {
        // python-stdnum's gb.upn doctest: B801200005001 is valid, A801200005001 is not
        assert!(is_valid("B801200005001"));
        assert!(!is_valid("A801200005001"));
        // the DfE's Unique Pupil Numbers guidance: H801200001001, and the temporary G80120000101A
        assert!(is_valid("H801200001001"));
        assert!(!is_valid("Z801200001001"));
        assert!(is_valid("G80120000101A"));
    }

    #[test]
    fn made_upns_are_valid() {
        for serial in 0..200 {
            let u = make("838", 2041, 2019, serial);
            assert!(is_valid(&u), "{u}");
            assert_eq!(&u[1..4], "838");
            assert!(!matches!(u.as_bytes()[0], b'I' | b'O' | b'S'));
        }
    }
}
