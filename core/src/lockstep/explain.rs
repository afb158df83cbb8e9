//! The human-readable forms of a [`Divergence`].

use super::*;

impl Divergence {
    /// The op's keyword, or `new` before the first op.
    pub fn op_word(&self) -> &'static str {
        self.op.as_ref().map_or("new", |op| op.kind().keyword())
    }

    /// Who is at fault, for a comment on the divergent line of a repro:
    /// `subject fails here`, `oracle and subject diverge here`.
    pub fn blame(&self) -> String {
        match &self.kind {
            DivergenceKind::Invariant { model, .. }
            | DivergenceKind::Panic { model, .. }
            | DivergenceKind::Expectation { model, .. } => format!("{model} fails here"),
            DivergenceKind::Outcome | DivergenceKind::State => {
                format!("{} and {} diverge here", self.models[0], self.models[1])
            }
        }
    }

    /// One line without the op: `oracle and subject outcomes differ`,
    /// `subject broke invariant refs-balance: ...`.
    pub fn reason(&self) -> String {
        let [a, b] = self.models;
        match &self.kind {
            DivergenceKind::Outcome => format!("{a} and {b} outcomes differ"),
            DivergenceKind::State => format!("{a} and {b} states differ"),
            DivergenceKind::Invariant { model, violations } => run::one_line(
                &violations
                    .iter()
                    .map(|v| format!("{model} broke invariant {}: {}", v.invariant, v.detail))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DivergenceKind::Panic { model, report } => {
                if report.stage.in_model() {
                    format!("{model} panicked in {}: {report}", report.stage.name())
                } else {
                    format!(
                        "harness panicked in {} on {model}'s state: {report}",
                        report.stage.name()
                    )
                }
            }
            DivergenceKind::Expectation { mismatches, .. } => run::one_line(&mismatches.join("; ")),
        }
    }

    /// A report for a person: the op index and text, the signature, both
    /// outcomes side by side, what broke, and the state diff.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{self}");
        let _ = writeln!(s, "signature: {}", self.signature);
        let width = self.models.iter().map(|m| m.len()).max().unwrap_or(0);
        for (i, model) in self.models.iter().enumerate() {
            let outcome = match (&self.outcomes[i], &self.states[i], &self.op) {
                (Some(o), _, _) => text::outcome_to_string(o),
                (None, _, None) => "(before the first op)".into(),
                (None, None, _) => "(no outcome: panicked)".into(),
                (None, Some(_), _) => "(no outcome)".into(),
            };
            let _ = writeln!(s, "  {model:<width$}  {outcome}");
        }
        match &self.kind {
            DivergenceKind::Invariant { model, violations } => {
                for v in violations {
                    let _ = writeln!(s, "  {model} invariant {}: {}", v.invariant, v.detail);
                }
            }
            DivergenceKind::Expectation { model, mismatches } => {
                for m in mismatches {
                    let _ = writeln!(s, "  {model} expectation: {m}");
                }
            }
            DivergenceKind::Panic { model, report } => {
                let _ = writeln!(
                    s,
                    "  {model} panicked in {}: {}",
                    report.stage.name(),
                    report.message.trim_end()
                );
                if let Some(l) = &report.location {
                    let _ = writeln!(s, "  at {l}");
                }
            }
            DivergenceKind::Outcome | DivergenceKind::State => {}
        }
        if self.diff.is_empty() {
            if let [Some(_), Some(_)] = &self.states {
                let _ = writeln!(s, "(the canonical states are equal)");
            }
        } else {
            s.push_str(&self.diff);
            if !self.diff.ends_with('\n') {
                s.push('\n');
            }
        }
        s
    }
}

/// ``op #k `<op>`: <reason>``, or `before the first op: <reason>`.
impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Some(op) => write!(
                f,
                "op #{} `{}`: {}",
                self.index,
                text::op_to_string(op),
                self.reason()
            ),
            None => write!(f, "before the first op: {}", self.reason()),
        }
    }
}
