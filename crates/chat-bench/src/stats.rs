//! Medians with their spread: every figure is the median of several runs,
//! shown with the minimum and maximum.

/// Median, minimum and maximum of a set of runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The spread of `values` (NaN-free); all zero when empty.
pub fn spread(values: impl IntoIterator<Item = f64>) -> Spread {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Spread::default();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Spread {
        median,
        min: v[0],
        max: v[n - 1],
    }
}

impl Spread {
    /// `median (min–max)` with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        format!(
            "{:.d$} ({:.d$}–{:.d$})",
            self.median,
            self.min,
            self.max,
            d = digits
        )
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(spread([3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(spread([4.0, 1.0, 2.0, 3.0]).median, 2.5);
        let s = spread([5.0, f64::NAN, 1.0]);
        assert_eq!((s.min, s.max), (1.0, 5.0));
        assert_eq!(spread([]), Spread::default());
    }
}
