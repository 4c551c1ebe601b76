//! Plain-text tables for the terminal.

/// Left-aligned columns; `caps` limits each column's width (the last is never cut).
pub fn render(headers: &[&str], rows: &[Vec<String>], caps: &[usize]) -> String {
    let columns = headers.len();
    let widths: Vec<usize> = (0..columns)
        .map(|col| {
            let widest = rows
                .iter()
                .map(|r| r[col].chars().count())
                .chain([headers[col].chars().count()])
                .max()
                .unwrap_or(0);
            caps.get(col).map_or(widest, |cap| widest.min(*cap))
        })
        .collect();
    let clip = |text: &str, width: usize| {
        if text.chars().count() > width {
            format!(
                "{}…",
                text.chars()
                    .take(width.saturating_sub(1))
                    .collect::<String>()
            )
        } else {
            text.to_string()
        }
    };
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (col, cell) in cells.iter().enumerate() {
            if col + 1 == columns {
                out.push_str(cell);
            } else {
                let text = clip(cell, widths[col]);
                let pad = widths[col] - text.chars().count();
                out.push_str(&text);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_long_cells_are_clipped_with_an_ellipsis() {
        let rows = vec![
            vec!["a".to_string(), "Åse Ærø".to_string(), "x".to_string()],
            vec![
                "bb".to_string(),
                "a very long name".to_string(),
                "y".to_string(),
            ],
        ];
        let text = render(&["ID", "NAME", "NOTE"], &rows, &[10, 8]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "ID  NAME      NOTE");
        assert_eq!(lines[1], "a   Åse Ærø   x");
        assert_eq!(lines[2], "bb  a very …  y");
    }
}
