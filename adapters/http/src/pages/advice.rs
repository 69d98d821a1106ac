//! zxcvbn's advice in a redirect: each of its fixed messages (the `Display` of its
//! warnings and suggestions) has a short key, so that a 303 can carry the advice of a
//! refused password as `advice=w3.s2` instead of text.

use std::sync::LazyLock;

use zxcvbn::feedback::{Suggestion, Warning};

/// Most advice lines a redirect carries.
const MAX_LINES: usize = 8;

const WARNINGS: [Warning; 14] = [
    Warning::StraightRowsOfKeysAreEasyToGuess,
    Warning::ShortKeyboardPatternsAreEasyToGuess,
    Warning::RepeatsLikeAaaAreEasyToGuess,
    Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
    Warning::ThisIsATop10Password,
    Warning::ThisIsATop100Password,
    Warning::ThisIsACommonPassword,
    Warning::ThisIsSimilarToACommonlyUsedPassword,
    Warning::SequencesLikeAbcAreEasyToGuess,
    Warning::RecentYearsAreEasyToGuess,
    Warning::AWordByItselfIsEasyToGuess,
    Warning::DatesAreOftenEasyToGuess,
    Warning::NamesAndSurnamesByThemselvesAreEasyToGuess,
    Warning::CommonNamesAndSurnamesAreEasyToGuess,
];

const SUGGESTIONS: [Suggestion; 13] = [
    Suggestion::UseAFewWordsAvoidCommonPhrases,
    Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters,
    Suggestion::AddAnotherWordOrTwo,
    Suggestion::CapitalizationDoesntHelpVeryMuch,
    Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase,
    Suggestion::ReversedWordsArentMuchHarderToGuess,
    Suggestion::PredictableSubstitutionsDontHelpVeryMuch,
    Suggestion::UseALongerKeyboardPatternWithMoreTurns,
    Suggestion::AvoidRepeatedWordsAndCharacters,
    Suggestion::AvoidSequences,
    Suggestion::AvoidRecentYears,
    Suggestion::AvoidYearsThatAreAssociatedWithYou,
    Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
];

/// (key, message) of every message.
static MESSAGES: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let warnings = WARNINGS
        .iter()
        .enumerate()
        .map(|(i, w)| (format!("w{i}"), w.to_string()));
    let suggestions = SUGGESTIONS
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("s{i}"), s.to_string()));
    warnings.chain(suggestions).collect()
});

/// The keys of `feedback` (the engine's `WeakPassword` lines), `.`-separated; a line that
/// is not one of zxcvbn's messages is left out.
pub(crate) fn keys(feedback: &[String]) -> String {
    feedback
        .iter()
        .filter_map(|line| MESSAGES.iter().find(|(_, m)| m == line).map(|(k, _)| k))
        .take(MAX_LINES)
        .cloned()
        .collect::<Vec<_>>()
        .join(".")
}

/// The messages `keys` name (unknown keys are left out).
pub(crate) fn lines(keys: &str) -> Vec<String> {
    keys.split('.')
        .filter_map(|k| MESSAGES.iter().find(|(key, _)| key == k).map(|(_, m)| m))
        .take(MAX_LINES)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_round_trips_through_keys() {
        let feedback = vec![
            "This is a top-10 common password.".to_owned(),
            "Add another word or two. Uncommon words are better.".to_owned(),
            "<not zxcvbn's>".to_owned(),
        ];
        let k = keys(&feedback);
        assert_eq!(k, "w4.s2");
        assert_eq!(lines(&k), feedback[..2]);
        assert!(lines("x.<b>").is_empty());
        let distinct: std::collections::BTreeSet<_> = MESSAGES.iter().map(|(_, m)| m).collect();
        assert_eq!(distinct.len(), WARNINGS.len() + SUGGESTIONS.len());
    }
}
