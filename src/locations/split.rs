//! A migration file cut into statements, each with the line it starts on and its tokens.
//!
//! PostgreSQL's lexical rules that decide where a statement ends: `--` and nested `/* */`
//! comments, quoted strings (`''` escapes, `E'…'` backslash escapes), quoted identifiers and
//! dollar quotes. It never fails: an unterminated quote runs to the end of the file.

/// One token of a statement, as far as naming objects needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A keyword or an unquoted identifier, folded to lower case as PostgreSQL does.
    Word(String),
    /// A double-quoted identifier, as written.
    Quoted(String),
    /// `.`, `(`, `=`, `,` and other single characters.
    Punct(char),
    /// A string, a number or a dollar-quoted body.
    Literal,
}

/// One statement: its text (without the `;`), the 1-based line of its first token, its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub text: String,
    pub line: u32,
    pub tokens: Vec<Token>,
}

struct Lexer<'a> {
    chars: Vec<char>,
    source: &'a str,
    /// Byte offset of each char, and one past the end.
    offsets: Vec<usize>,
    at: usize,
    line: u32,
}

/// Every statement of `sql` that holds at least one token.
pub fn statements(sql: &str) -> Vec<Piece> {
    let mut offsets: Vec<usize> = sql.char_indices().map(|(i, _)| i).collect();
    offsets.push(sql.len());
    let mut lx = Lexer {
        chars: sql.chars().collect(),
        source: sql,
        offsets,
        at: 0,
        line: 1,
    };
    let mut out = Vec::new();
    let mut current: Option<(usize, u32, Vec<Token>)> = None;
    while let Some(c) = lx.peek(0) {
        if c == ';' {
            lx.bump();
            out.extend(current.take().map(|piece| lx.piece(piece)));
            continue;
        }
        if lx.skip_blank() {
            continue;
        }
        let (start, line) = (lx.at, lx.line);
        let token = lx.token();
        current
            .get_or_insert((start, line, Vec::new()))
            .2
            .push(token);
    }
    out.extend(current.take().map(|piece| lx.piece(piece)));
    out
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn piece(&self, (start, line, tokens): (usize, u32, Vec<Token>)) -> Piece {
        let text = &self.source[self.offsets[start]..self.offsets[self.at]];
        Piece {
            text: text.trim_end_matches(';').to_string(),
            line,
            tokens,
        }
    }

    /// Skips whitespace or one comment; false when the next char starts a token.
    fn skip_blank(&mut self) -> bool {
        match (self.peek(0), self.peek(1)) {
            (Some(c), _) if c.is_whitespace() => {
                self.bump();
            }
            (Some('-'), Some('-')) => {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            }
            (Some('/'), Some('*')) => self.block_comment(),
            _ => return false,
        }
        true
    }

    /// `/* … */`, nested as PostgreSQL nests them.
    fn block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            match (c, self.peek(0)) {
                ('/', Some('*')) => {
                    self.bump();
                    depth += 1;
                }
                ('*', Some('/')) => {
                    self.bump();
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn token(&mut self) -> Token {
        let c = self.peek(0).unwrap_or(' ');
        if c == '\'' {
            self.string(false);
            return Token::Literal;
        }
        if c == '"' {
            return Token::Quoted(self.quoted_identifier());
        }
        if c == '$'
            && let Some(tag) = self.dollar_tag()
        {
            self.dollar_body(&tag);
            return Token::Literal;
        }
        if c.is_alphabetic() || c == '_' {
            let word = self.word();
            if matches!(word.as_str(), "e" | "E") && self.peek(0) == Some('\'') {
                self.string(true);
                return Token::Literal;
            }
            return Token::Word(word.to_lowercase());
        }
        if c.is_ascii_digit() {
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '.')
            {
                self.bump();
            }
            return Token::Literal;
        }
        self.bump();
        Token::Punct(c)
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self
            .peek(0)
            .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        {
            word.push(c);
            self.bump();
        }
        word
    }

    /// `'…'` with `''` for a quote, and with `\'` too in an `E'…'` string.
    fn string(&mut self, backslashes: bool) {
        self.bump();
        while let Some(c) = self.bump() {
            match c {
                '\\' if backslashes => {
                    self.bump();
                }
                '\'' if self.peek(0) == Some('\'') => {
                    self.bump();
                }
                '\'' => return,
                _ => {}
            }
        }
    }

    fn quoted_identifier(&mut self) -> String {
        self.bump();
        let mut name = String::new();
        while let Some(c) = self.bump() {
            if c == '"' {
                if self.peek(0) != Some('"') {
                    break;
                }
                self.bump();
            }
            name.push(c);
        }
        name
    }

    /// `$tag$` or `$$` at the cursor (consumed); `None` for `$1` and other dollars.
    fn dollar_tag(&mut self) -> Option<String> {
        let mut end = 1;
        while let Some(c) = self.peek(end) {
            if c == '$' {
                let tag: String = self.chars[self.at..=self.at + end].iter().collect();
                (0..=end).for_each(|_| {
                    self.bump();
                });
                return Some(tag);
            }
            let starts_badly = end == 1 && c.is_ascii_digit();
            if starts_badly || !(c.is_alphanumeric() || c == '_') {
                return None;
            }
            end += 1;
        }
        None
    }

    fn dollar_body(&mut self, tag: &str) {
        let tag: Vec<char> = tag.chars().collect();
        while self.peek(0).is_some() {
            if self.chars[self.at..].starts_with(&tag) {
                tag.iter().for_each(|_| {
                    self.bump();
                });
                return;
            }
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(sql: &str) -> Vec<(u32, String)> {
        statements(sql)
            .into_iter()
            .map(|p| (p.line, p.text))
            .collect()
    }

    #[test]
    fn a_statement_starts_on_the_line_of_its_first_token_after_comments() {
        let sql = "-- header\n\n/* a\n   block */ create table a (id int);\n\n  \
                   -- note\n  alter table a\n    enable row level security;\n";
        assert_eq!(
            lines(sql),
            vec![
                (4, "create table a (id int)".to_string()),
                (
                    7,
                    "alter table a\n    enable row level security".to_string()
                ),
            ]
        );
    }

    #[test]
    fn semicolons_inside_strings_bodies_and_comments_do_not_end_a_statement() {
        let sql = "create function f() returns int language plpgsql as $body$\nbegin\n  \
                   perform 'x;y'; return 1;\nend $body$;\n\
                   select E'it\\'s; fine', \"odd;name\", $$a;b$$ /* c; /* nested; */ d; */;\n\
                   select 1";
        let got = lines(sql);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1].0, 5);
        assert_eq!((got[2].0, got[2].1.as_str()), (6, "select 1"));
    }

    #[test]
    fn tokens_fold_unquoted_names_and_keep_quoted_ones() {
        let piece = &statements("CREATE TABLE App.\"Users\" (id int)")[0];
        assert_eq!(
            piece.tokens[..5],
            [
                Token::Word("create".into()),
                Token::Word("table".into()),
                Token::Word("app".into()),
                Token::Punct('.'),
                Token::Quoted("Users".into()),
            ]
        );
    }

    #[test]
    fn an_unterminated_quote_runs_to_the_end_without_failing() {
        assert_eq!(lines("select 'open;\n;").len(), 1);
        assert_eq!(statements("select $$ never closed; ").len(), 1);
        assert!(statements("  -- only a comment\n").is_empty());
    }
}
