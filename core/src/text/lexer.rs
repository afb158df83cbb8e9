//! Splitting a line part into whitespace-separated words, and reading the
//! structure inside one word (`m0[0..512]`, `pages=5`), with 1-based
//! character columns for every error.
//!
//! No token of the grammar contains whitespace, `#`, `;` or `=>`, so a line
//! is first cut at those and each part is then split into words.

use super::ParseError;

/// How many characters of offending input an error message quotes.
const FOUND_CHARS: usize = 40;

/// One whitespace-separated word and the column of its first character.
#[derive(Clone, Copy, Debug)]
pub(super) struct Word<'a> {
    pub text: &'a str,
    pub column: usize,
}

/// The words of one part of a line (the op, or one expectation item).
pub(super) struct Words<'a> {
    line: usize,
    words: Vec<Word<'a>>,
    next: usize,
    /// Column just after the part, for "found end of ..." errors.
    end_column: usize,
    /// What follows the part, as an error's `found` (`end of line`, `` `;` ``).
    end_found: &'static str,
}

impl<'a> Words<'a> {
    /// Splits `text`, whose first character is at `first_column` of `line`.
    pub fn new(text: &'a str, line: usize, first_column: usize, end_found: &'static str) -> Self {
        let mut words = Vec::new();
        let mut start: Option<(usize, usize)> = None; // (byte, column)
        let mut column = first_column;
        for (byte, ch) in text.char_indices() {
            match (ch.is_whitespace(), start) {
                (true, Some((from, col))) => {
                    words.push(Word {
                        text: &text[from..byte],
                        column: col,
                    });
                    start = None;
                }
                (false, None) => start = Some((byte, column)),
                _ => {}
            }
            column += 1;
        }
        if let Some((from, col)) = start {
            words.push(Word {
                text: &text[from..],
                column: col,
            });
        }
        Words {
            line,
            words,
            next: 0,
            end_column: column,
            end_found,
        }
    }

    pub fn line(&self) -> usize {
        self.line
    }

    pub fn peek(&self) -> Option<Word<'a>> {
        self.words.get(self.next).copied()
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.words.len()
    }

    /// The next word; at the end, an error saying `expected` was expected.
    pub fn next(&mut self, expected: &str) -> Result<Word<'a>, ParseError> {
        match self.peek() {
            Some(word) => {
                self.next += 1;
                Ok(word)
            }
            None => Err(self.error_at_end(expected)),
        }
    }

    /// Consumes the next word if it is exactly `text`.
    pub fn eat(&mut self, text: &str) -> bool {
        let hit = self.peek().is_some_and(|w| w.text == text);
        if hit {
            self.next += 1;
        }
        hit
    }

    /// Requires the next word to be exactly `text`.
    pub fn expect(&mut self, text: &str) -> Result<(), ParseError> {
        let word = self.next(&format!("`{text}`"))?;
        if word.text == text {
            Ok(())
        } else {
            Err(self.error(word, &format!("`{text}`")))
        }
    }

    /// Requires that no words are left.
    pub fn expect_end(&self, expected: &str) -> Result<(), ParseError> {
        match self.peek() {
            Some(word) => Err(self.error(word, expected)),
            None => Ok(()),
        }
    }

    /// An error about a whole word.
    pub fn error(&self, word: Word<'_>, expected: &str) -> ParseError {
        ParseError {
            line: self.line,
            column: word.column,
            expected: expected.to_string(),
            found: quote(word.text),
        }
    }

    pub fn error_at_end(&self, expected: &str) -> ParseError {
        ParseError {
            line: self.line,
            column: self.end_column,
            expected: expected.to_string(),
            found: self.end_found.to_string(),
        }
    }

    /// A reader for the inside of `word`.
    pub fn scan(&self, word: Word<'a>) -> Scan<'a> {
        Scan {
            word,
            rest: word.text,
            column: word.column,
            line: self.line,
        }
    }
}

/// `text` quoted for an error message, shortened and with control
/// characters escaped so a message stays one readable line.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::from("`");
    for ch in text.chars().take(FOUND_CHARS) {
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    if text.chars().nth(FOUND_CHARS).is_some() {
        out.push('…');
    }
    out.push('`');
    out
}

/// A cursor inside one word.
pub(super) struct Scan<'a> {
    word: Word<'a>,
    rest: &'a str,
    column: usize,
    line: usize,
}

impl<'a> Scan<'a> {
    pub fn column(&self) -> usize {
        self.column
    }

    pub fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn rest(&self) -> &'a str {
        self.rest
    }

    fn advance(&mut self, bytes: usize) {
        let (taken, rest) = self.rest.split_at(bytes);
        self.column += taken.chars().count();
        self.rest = rest;
    }

    /// Consumes `prefix` if the rest starts with it.
    pub fn eat(&mut self, prefix: &str) -> bool {
        let hit = self.rest.starts_with(prefix);
        if hit {
            self.advance(prefix.len());
        }
        hit
    }

    pub fn expect(&mut self, prefix: &str, expected: &str) -> Result<(), ParseError> {
        if self.eat(prefix) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// Consumes characters while `keep` holds and returns them.
    pub fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let len = self
            .rest
            .char_indices()
            .find(|&(_, ch)| !keep(ch))
            .map_or(self.rest.len(), |(i, _)| i);
        let taken = &self.rest[..len];
        self.advance(len);
        taken
    }

    /// Consumes the rest of the word.
    pub fn take_rest(&mut self) -> &'a str {
        let taken = self.rest;
        self.advance(taken.len());
        taken
    }

    /// A number: decimal, or hexadecimal with `0x`.
    pub fn number(&mut self, expected: &str) -> Result<u64, ParseError> {
        let column = self.column;
        let start_rest = self.rest;
        let hex = self.eat("0x") || self.eat("0X");
        let digits = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        let radix = if hex { 16 } else { 10 };
        // Only ASCII digits of the radix: `from_str_radix` would also take a sign.
        let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
        let value = if valid {
            u64::from_str_radix(digits, radix).ok()
        } else {
            None
        };
        value.ok_or_else(|| {
            let found_len = start_rest.len() - self.rest.len();
            let found = &start_rest[..found_len];
            ParseError {
                line: self.line,
                column,
                expected: if valid {
                    format!("{expected} (at most {})", u64::MAX)
                } else {
                    expected.to_string()
                },
                found: if found.is_empty() {
                    self.found()
                } else {
                    quote(found)
                },
            }
        })
    }

    /// A number that must fit `u32`.
    pub fn number_u32(&mut self, expected: &str) -> Result<u32, ParseError> {
        let column = self.column;
        let value = self.number(expected)?;
        u32::try_from(value).map_err(|_| ParseError {
            line: self.line,
            column,
            expected: format!("{expected} (at most {})", u32::MAX),
            found: quote(&value.to_string()),
        })
    }

    /// A signed number (`-` allowed): for counters that a bug may drive negative.
    pub fn signed(&mut self, expected: &str) -> Result<i64, ParseError> {
        let column = self.column;
        let negative = self.eat("-");
        let magnitude = self.number(expected)?;
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or_else(|| ParseError {
            line: self.line,
            column,
            expected: format!("{expected} (a 64-bit signed number)"),
            found: quote(self.word.text),
        })
    }

    /// What an error at the current position found.
    fn found(&self) -> String {
        if self.rest.is_empty() {
            format!("the end of {}", quote(self.word.text))
        } else {
            quote(self.rest)
        }
    }

    /// An error at the current position.
    pub fn error(&self, expected: &str) -> ParseError {
        ParseError {
            line: self.line,
            column: self.column,
            expected: expected.to_string(),
            found: self.found(),
        }
    }

    /// An error at an earlier `column` of this word.
    pub fn error_at(&self, column: usize, expected: &str, found: String) -> ParseError {
        ParseError {
            line: self.line,
            column,
            expected: expected.to_string(),
            found,
        }
    }

    /// An error about the whole word.
    pub fn word_error(&self, expected: &str) -> ParseError {
        ParseError {
            line: self.line,
            column: self.word.column,
            expected: expected.to_string(),
            found: quote(self.word.text),
        }
    }

    /// Requires the word to be used up.
    pub fn finish(&self, expected: &str) -> Result<(), ParseError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }
}
