//! The template language, and nothing more: a whitelist over minijinja's parse tree.
//!
//! minijinja cannot switch syntax off, and a template is written by any user, so
//! `{% for %}` over `range()`, `"x" * 100000000`, `{% set %}`, macros, `| safe` and
//! `{% autoescape false %}` would let one request occupy a core for minutes, take
//! gigabytes, or put raw HTML into a message. Every template is checked here, on
//! exactly the text that is compiled, before it is compiled (docs/templates.md).
//!
//! Allowed: text; `{{ expr }}`; `{% if %}`, `{% elif %}`, `{% else %}`,
//! `{% endif %}`; comments. An expression is a placeholder, a literal, `not`,
//! `and`, `or`, `==`, `!=`, parentheses, and the filters in [`FILTERS`] whose
//! arguments are literals.

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::machinery::{WhitespaceConfig, parse};
use minijinja::syntax::SyntaxConfig;

/// The filters a template may use.
pub const FILTERS: &[&str] = &["default", "upper", "lower", "title", "trim"];

/// A construct the template language does not have, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Byte offset into the checked source.
    pub offset: usize,
    pub construct: String,
}

impl Refusal {
    fn at(offset: u32, construct: impl Into<String>) -> Self {
        Refusal {
            offset: offset as usize,
            construct: construct.into(),
        }
    }
}

/// Checks `source`. A template that does not parse passes here: the compiler
/// reports its syntax error, with the same position.
pub fn check(source: &str) -> Result<(), Refusal> {
    raw_blocks(source)?;
    let whitespace = WhitespaceConfig {
        keep_trailing_newline: true,
        ..Default::default()
    };
    // A unit struct without minijinja's `custom_syntax` feature, a struct with it.
    #[allow(clippy::default_constructed_unit_structs)]
    let syntax = SyntaxConfig::default();
    match parse(source, "template", syntax, whitespace) {
        Ok(tree) => stmt(&tree).map_err(|mut r| {
            r.offset = tag_start(source, r.offset);
            r
        }),
        Err(_) => Ok(()),
    }
}

/// Where the tag holding `offset` starts (`{{` or `{%`), so a refusal points at
/// what the user typed first.
fn tag_start(source: &str, offset: usize) -> usize {
    let before = &source[..offset.min(source.len())];
    let open = before
        .rfind("{{")
        .into_iter()
        .chain(before.rfind("{%"))
        .max();
    match open {
        Some(at) if !before[at..].contains("}}") && !before[at..].contains("%}") => at,
        _ => offset,
    }
}

/// `{% raw %}` is resolved by the lexer, so the tree shows it only as text. Every
/// `{%` in the source is looked at (a superset of where the lexer would see one).
fn raw_blocks(source: &str) -> Result<(), Refusal> {
    for (offset, _) in source.match_indices("{%") {
        let rest = source[offset + 2..].trim_start_matches(['-', '+']);
        let rest = rest.trim_start();
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .take(8)
            .collect();
        if word.eq_ignore_ascii_case("raw") {
            return Err(Refusal::at(offset as u32, "{% raw %}"));
        }
    }
    Ok(())
}

fn stmts(list: &[Stmt<'_>]) -> Result<(), Refusal> {
    list.iter().try_for_each(stmt)
}

fn stmt(node: &Stmt<'_>) -> Result<(), Refusal> {
    match node {
        Stmt::Template(t) => stmts(&t.children),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::EmitExpr(e) => expr(&e.expr),
        Stmt::IfCond(c) => {
            expr(&c.expr)?;
            stmts(&c.true_body)?;
            stmts(&c.false_body)
        }
        Stmt::ForLoop(s) => Err(Refusal::at(s.span().start_offset, "{% for %}")),
        Stmt::WithBlock(s) => Err(Refusal::at(s.span().start_offset, "{% with %}")),
        Stmt::Set(s) => Err(Refusal::at(s.span().start_offset, "{% set %}")),
        Stmt::SetBlock(s) => Err(Refusal::at(s.span().start_offset, "{% set %}")),
        Stmt::AutoEscape(s) => Err(Refusal::at(s.span().start_offset, "{% autoescape %}")),
        Stmt::FilterBlock(s) => Err(Refusal::at(s.span().start_offset, "{% filter %}")),
        Stmt::Block(s) => Err(Refusal::at(s.span().start_offset, "{% block %}")),
        Stmt::Import(s) => Err(Refusal::at(s.span().start_offset, "{% import %}")),
        Stmt::FromImport(s) => Err(Refusal::at(s.span().start_offset, "{% from … import %}")),
        Stmt::Extends(s) => Err(Refusal::at(s.span().start_offset, "{% extends %}")),
        Stmt::Include(s) => Err(Refusal::at(s.span().start_offset, "{% include %}")),
        Stmt::Macro(s) => Err(Refusal::at(s.span().start_offset, "{% macro %}")),
        Stmt::CallBlock(s) => Err(Refusal::at(s.span().start_offset, "{% call %}")),
        Stmt::Do(s) => Err(Refusal::at(s.span().start_offset, "{% do %}")),
        #[allow(unreachable_patterns)]
        _ => Err(Refusal::at(0, "this statement")),
    }
}

fn expr(node: &Expr<'_>) -> Result<(), Refusal> {
    match node {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::UnaryOp(u) => match u.op {
            ast::UnaryOpKind::Not => expr(&u.expr),
            ast::UnaryOpKind::Neg => Err(Refusal::at(u.span().start_offset, "-")),
        },
        Expr::BinOp(b) => match b.op {
            ast::BinOpKind::ScAnd
            | ast::BinOpKind::ScOr
            | ast::BinOpKind::Eq
            | ast::BinOpKind::Ne => {
                expr(&b.left)?;
                expr(&b.right)
            }
            other => Err(Refusal::at(b.span().start_offset, operator(other))),
        },
        Expr::Compare(c) => {
            expr(&c.expr)?;
            for op in &c.ops {
                match op.op {
                    ast::CompareOpKind::Eq | ast::CompareOpKind::Ne => expr(&op.expr)?,
                    _ => {
                        return Err(Refusal::at(
                            c.span().start_offset,
                            "comparisons other than == and !=",
                        ));
                    }
                }
            }
            Ok(())
        }
        Expr::Filter(f) => {
            let at = f.span().start_offset;
            if !FILTERS.contains(&f.name) {
                return Err(Refusal::at(at, format!("| {}", f.name)));
            }
            match &f.expr {
                Some(inner) => expr(inner)?,
                None => return Err(Refusal::at(at, format!("| {}", f.name))),
            }
            for arg in &f.args {
                match arg {
                    CallArg::Pos(Expr::Const(_)) => {}
                    _ => {
                        return Err(Refusal::at(
                            at,
                            format!("| {}(…) with anything but text in quotes", f.name),
                        ));
                    }
                }
            }
            Ok(())
        }
        Expr::Test(t) => Err(Refusal::at(t.span().start_offset, format!("is {}", t.name))),
        Expr::GetAttr(g) => Err(Refusal::at(g.span().start_offset, format!(".{}", g.name))),
        Expr::GetItem(g) => Err(Refusal::at(g.span().start_offset, "[ ]")),
        Expr::Slice(s) => Err(Refusal::at(s.span().start_offset, "[ : ]")),
        Expr::Call(c) => Err(Refusal::at(c.span().start_offset, "function calls")),
        Expr::IfExpr(i) => Err(Refusal::at(i.span().start_offset, "… if … else …")),
        Expr::List(l) => Err(Refusal::at(l.span().start_offset, "lists")),
        Expr::Map(m) => Err(Refusal::at(m.span().start_offset, "maps")),
    }
}

fn operator(op: ast::BinOpKind) -> &'static str {
    use ast::BinOpKind::*;
    match op {
        Add => "+",
        Sub => "-",
        Mul => "*",
        Div => "/",
        FloorDiv => "//",
        Rem => "%",
        Pow => "**",
        Concat => "~",
        In => "in",
        Lt | Lte | Gt | Gte => "comparisons other than == and !=",
        Eq | Ne | ScAnd | ScOr => "this operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(source: &str) -> String {
        check(source)
            .expect_err(&format!("{source} should be refused"))
            .construct
    }

    #[test]
    fn the_documented_language_passes() {
        for ok in [
            "Hi {{ first_name }}",
            r#"{{ company | default("your team") }}"#,
            r#"{{ company | default("your team", true) | upper }}"#,
            "{% if company %}at {{ company }}{% elif x %}y{% else %}z{% endif %}",
            "{%- if a and not b or c -%}x{%- endif %}",
            r#"{% if plan == "pro" %}x{% endif %}{# a comment #}"#,
            "{{ name | title }} {{ name | lower }} {{ name | trim }}",
            "plain text { not a tag }",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_refused_naming_the_construct() {
        let cases = [
            (
                "{% for a in range(100000) %}{{ a }}{% endfor %}",
                "{% for %}",
            ),
            ("{%- for a in [1,2] %}{% endfor %}", "{% for %}"),
            ("{% set x = 1 %}", "{% set %}"),
            ("{% set x %}y{% endset %}", "{% set %}"),
            ("{% macro m() %}x{% endmacro %}", "{% macro %}"),
            (
                "{% autoescape false %}{{ x }}{% endautoescape %}",
                "{% autoescape %}",
            ),
            ("{{ x | safe }}", "| safe"),
            (r#"{{ "x" * 100000000 }}"#, "*"),
            ("{{ a ~ b }}", "~"),
            ("{{ a + b }}", "+"),
            ("{{ range(10) }}", "function calls"),
            ("{{ user.name }}", ".name"),
            ("{{ a[0] }}", "[ ]"),
            ("{{ a if b else c }}", "… if … else …"),
            ("{% raw %}{{ x }}{% endraw %}", "{% raw %}"),
            ("{%- raw -%}x{% endraw %}", "{% raw %}"),
            ("{% include 'x' %}", "{% include %}"),
            ("{% with a = 1 %}{% endwith %}", "{% with %}"),
            ("{% filter upper %}x{% endfilter %}", "{% filter %}"),
            ("{{ a is defined }}", "is defined"),
            ("{{ [1, 2] }}", "lists"),
            (
                r#"{{ x | default(y) }}"#,
                "| default(…) with anything but text in quotes",
            ),
            (
                r#"{{ x | default("a" * 9) }}"#,
                "| default(…) with anything but text in quotes",
            ),
            (
                "{% if a %}{% for b in c %}{% endfor %}{% endif %}",
                "{% for %}",
            ),
        ];
        for (source, construct) in cases {
            assert_eq!(refused(source), construct, "{source}");
        }
    }

    #[test]
    fn the_offset_points_at_the_construct() {
        let source = "Line one\nline two {% for a in b %}{% endfor %}";
        let r = check(source).unwrap_err();
        assert_eq!(&source[r.offset..r.offset + 2], "{%");
        assert_eq!(r.offset, source.find("{%").unwrap());
        let source = "Hi {{ name }} and {{ a ~ b }}";
        let r = check(source).unwrap_err();
        assert_eq!(r.offset, source.rfind("{{").unwrap());
    }

    #[test]
    fn a_template_that_does_not_parse_is_left_to_the_compiler() {
        assert_eq!(check("{{ unclosed"), Ok(()));
    }
}
