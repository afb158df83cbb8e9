//! The survival plot: per engine, the fraction of all (bug, trial) pairs
//! not yet detected after t seconds, t on a log axis from 1 ms to the
//! budget. A curve that drops early and far is an engine that finds bugs
//! fast; where it ends is the fraction never found within the budget.

use plotters::prelude::*;

use super::engine::Engine;
use super::report::Trial;

/// The earliest time on the axis: detections sooner than this are drawn
/// here (log axes have no 0).
const FIRST_SECOND: f64 = 0.001;

/// The step curve of one engine: `(t, fraction undetected)` points.
pub fn survival(engine: Engine, trials: &[Trial], budget: f64) -> Vec<(f64, f64)> {
    let mine: Vec<&Trial> = trials.iter().filter(|t| t.engine == engine).collect();
    let total = mine.len();
    let mut times: Vec<f64> = mine
        .iter()
        .filter_map(|t| t.seconds)
        .map(|s| s.clamp(FIRST_SECOND, budget))
        .collect();
    times.sort_by(f64::total_cmp);
    let mut points = vec![(FIRST_SECOND, 1.0)];
    if total == 0 {
        return points;
    }
    let mut left = total;
    for t in times {
        let before = left as f64 / total as f64;
        left -= 1;
        points.push((t, before));
        points.push((t, left as f64 / total as f64));
    }
    points.push((budget, left as f64 / total as f64));
    points
}

/// The plot as an SVG document.
pub fn svg(engines: &[Engine], trials: &[Trial], budget: f64) -> Result<String, String> {
    let budget = budget.max(FIRST_SECOND * 10.0);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (800, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Planted bugs still undetected over time",
                ("sans-serif", 20),
            )
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((FIRST_SECOND..budget).log_scale(), 0.0..1.0f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("seconds (log scale)")
            .y_desc("fraction of trials undetected")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, &engine) in engines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    survival(engine, trials, budget),
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(engine.title())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
