//! A latency-over-time chart as a hand-written SVG (no plotting dependency).
//!
//! 900×360, linear axes from 0 with about five round ticks each (x in seconds since the start,
//! y in milliseconds up to the largest value × 1.1 rounded up to a tick), one polyline per
//! series, a legend and a title. Names are XML-escaped; a chart without any point says
//! "no data".

use std::fmt::Write as _;

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// Any SVG paint (`#1f77b4`, `steelblue`, …).
    pub color: String,
    /// (seconds since start, milliseconds).
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const TICKS: usize = 5;

/// The chart of `series` (see the module docs). Points that are not finite are skipped; negative
/// values are drawn at 0.
pub fn latency_svg(title: &str, y_label: &str, series: &[Series]) -> String {
    let finite = |s: &Series| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| (x.max(0.0), y.max(0.0)))
            .collect()
    };
    let drawn: Vec<(&Series, Vec<(f64, f64)>)> = series
        .iter()
        .map(|s| (s, finite(s)))
        .filter(|(_, p)| !p.is_empty())
        .collect();

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    svg.push('\n');
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text class="title" x="{}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );

    if drawn.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text class="nodata" x="{}" y="{}" text-anchor="middle" font-size="14" fill="#666">no data</text>"##,
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        svg.push_str("</svg>\n");
        return svg;
    }

    let max_x = drawn
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(x, _)| x))
        .fold(0.0, f64::max);
    let max_y = drawn
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(0.0, f64::max);
    let (x_step, x_top) = axis(max_x);
    let (y_step, y_top) = axis(max_y * 1.1);

    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + x / x_top * plot_w;
    let py = |y: f64| TOP + plot_h - y / y_top * plot_h;

    // Grid, ticks and labels.
    let x_decimals = decimals(x_step);
    let y_decimals = decimals(y_step);
    let mut i = 0;
    while let Some(v) = tick(i, x_step, x_top) {
        let x = px(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e5e5e5"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            svg,
            r#"<text class="xtick" x="{x:.1}" y="{:.1}" text-anchor="middle">{v:.x_decimals$}</text>"#,
            TOP + plot_h + 16.0
        );
        i += 1;
    }
    let mut i = 0;
    while let Some(v) = tick(i, y_step, y_top) {
        let y = py(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            svg,
            r#"<text class="ytick" x="{:.1}" y="{:.1}" text-anchor="end">{v:.y_decimals$}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
        i += 1;
    }
    // Axes.
    let _ = writeln!(
        svg,
        r#"<path d="M{LEFT} {TOP} V{:.1} H{:.1}" fill="none" stroke="black"/>"#,
        TOP + plot_h,
        LEFT + plot_w
    );
    let _ = writeln!(
        svg,
        r#"<text class="xlabel" x="{:.1}" y="{:.1}" text-anchor="middle">seconds</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0
    );
    let _ = writeln!(
        svg,
        r#"<text class="ylabel" x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        escape(y_label)
    );

    // Lines.
    for (s, points) in &drawn {
        let mut pts = String::new();
        for &(x, y) in points {
            if !pts.is_empty() {
                pts.push(' ');
            }
            let _ = write!(pts, "{:.1},{:.1}", px(x), py(y));
        }
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" stroke-linejoin="round" points="{pts}"><title>{}</title></polyline>"#,
            escape(&s.color),
            escape(&s.name)
        );
    }

    // Legend (every series, also those without points).
    let lx = LEFT + plot_w + 16.0;
    for (i, s) in series.iter().enumerate() {
        let y = TOP + 8.0 + i as f64 * 20.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="3"/>"#,
            lx + 20.0,
            escape(&s.color)
        );
        let _ = writeln!(
            svg,
            r#"<text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 26.0,
            y + 4.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The tick step and the top of an axis from 0 covering `max`: a round step (1, 2, 2.5 or 5
/// × 10ⁿ) giving about [`TICKS`] intervals, the top rounded up to a multiple of it.
fn axis(max: f64) -> (f64, f64) {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let step = nice_step(max / TICKS as f64);
    let top = ((max / step) - 1e-9).ceil().max(1.0) * step;
    (step, top)
}

fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    // Tolerance: 0.2 / 10^-1 need not be exactly 2.
    let fraction = raw / magnitude - 1e-9;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 2.5 {
        2.5
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// The `i`th tick value (computed, not accumulated), while it is within `top`.
fn tick(i: usize, step: f64, top: f64) -> Option<f64> {
    let v = i as f64 * step;
    (v <= top + step * 1e-9).then_some(v)
}

/// Decimals needed to print multiples of `step` exactly.
fn decimals(step: f64) -> usize {
    (0..=9)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(9)
}

/// Escapes text and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            color: "#1f77b4".into(),
            points,
        }
    }

    /// The numbers inside `<text class="{class}" …>…</text>`, in document order.
    fn labels(svg: &str, class: &str) -> Vec<f64> {
        let open = format!(r#"<text class="{class}""#);
        svg.match_indices(&open)
            .map(|(i, _)| {
                let rest = &svg[i..];
                let start = rest.find('>').unwrap() + 1;
                let end = rest.find("</text>").unwrap();
                rest[start..end].parse::<f64>().unwrap()
            })
            .collect()
    }

    /// Every `<` opens a known element or closes one, and tags balance.
    fn assert_balanced(svg: &str) {
        let mut stack = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').expect("unterminated tag");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name.to_string()), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap().to_string();
                stack.push(name);
            }
            // Attribute values never contain raw '<' or '&' that is not an entity.
            assert!(!tag.contains('<'));
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        for (i, _) in svg.match_indices('&') {
            let entity = &svg[i..svg[i..].find(';').map_or(svg.len(), |e| i + e + 1)];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
                "bad entity {entity}"
            );
        }
    }

    fn strictly_increasing(v: &[f64]) -> bool {
        v.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn draws_one_polyline_per_non_empty_series() {
        let svg = latency_svg(
            "Assign latency: p50 & p99 <cluster>",
            "ms",
            &[
                series(
                    "p50 \"assign\"",
                    vec![(0.0, 1.2), (1.0, 1.4), (2.0, 1.1), (3.5, 1.3)],
                ),
                series("p99 & friends", vec![(0.0, 7.0), (1.0, 12.5), (3.5, 9.0)]),
                series("empty", vec![]),
            ],
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r#"width="900" height="360""#));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("Assign latency: p50 &amp; p99 &lt;cluster&gt;"));
        assert!(svg.contains("p99 &amp; friends"));
        assert!(svg.contains("p50 &quot;assign&quot;"));
        assert!(!svg.contains("no data"));
        assert_balanced(&svg);

        let xs = labels(&svg, "xtick");
        let ys = labels(&svg, "ytick");
        assert!((4..=8).contains(&xs.len()), "x ticks {xs:?}");
        assert!((4..=8).contains(&ys.len()), "y ticks {ys:?}");
        assert!(strictly_increasing(&xs), "x ticks {xs:?}");
        assert!(strictly_increasing(&ys), "y ticks {ys:?}");
        assert_eq!(xs[0], 0.0);
        assert_eq!(ys[0], 0.0);
        // x covers 3.5 s, y covers 12.5 ms × 1.1.
        assert!(*xs.last().unwrap() >= 3.5, "{xs:?}");
        assert!(*ys.last().unwrap() >= 12.5 * 1.1, "{ys:?}");
        assert!(*ys.last().unwrap() <= 20.0, "{ys:?}");
    }

    #[test]
    fn tick_steps_are_round() {
        for (max, step, top) in [
            (3.5, 1.0, 4.0),
            (13.75, 5.0, 15.0),
            (10.0, 2.0, 10.0),
            (0.37, 0.1, 0.4),
            (123.0, 25.0, 125.0),
            (60.0, 20.0, 60.0),
            (1.0, 0.2, 1.0),
        ] {
            let (s, t) = axis(max);
            assert!((s - step).abs() < 1e-9, "{max}: step {s}, want {step}");
            assert!((t - top).abs() < 1e-9, "{max}: top {t}, want {top}");
        }
        assert_eq!(decimals(25.0), 0);
        assert_eq!(decimals(0.25), 2);
        assert_eq!(decimals(0.1), 1);
    }

    #[test]
    fn flat_zero_series_still_has_an_axis() {
        let svg = latency_svg("t", "ms", &[series("zero", vec![(0.0, 0.0)])]);
        assert_eq!(svg.matches("<polyline").count(), 1);
        let ys = labels(&svg, "ytick");
        assert!(strictly_increasing(&ys) && ys.len() >= 2, "{ys:?}");
        assert_balanced(&svg);
    }

    #[test]
    fn says_no_data_without_points() {
        for input in [
            vec![],
            vec![series("a & b", vec![])],
            vec![series("nan", vec![(f64::NAN, 1.0)])],
        ] {
            let svg = latency_svg("Empty & <nothing>", "ms", &input);
            assert!(svg.starts_with("<svg"));
            assert!(svg.contains("no data"));
            assert_eq!(svg.matches("<polyline").count(), 0);
            assert!(svg.contains("Empty &amp; &lt;nothing&gt;"));
            assert_balanced(&svg);
        }
    }
}
