//! Coordinates along one axis for a gather (`take`), stored as arithmetic runs: a
//! gather made of whole ranges (overlap halos, reversed borders, repeated edges) costs
//! O(runs) to build, plan and compare, not O(elements).

/// `len` coordinates `start, start + step, start + 2 * step, …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Run {
    /// The first coordinate.
    pub start: usize,
    /// The difference between neighbours (0 repeats `start`, -1 counts down).
    pub step: isize,
    /// How many coordinates.
    pub len: usize,
}

impl Run {
    /// Coordinate `k` of the run.
    #[inline]
    pub fn at(&self, k: usize) -> usize {
        (self.start as isize + k as isize * self.step) as usize
    }

    fn last(&self) -> usize {
        self.at(self.len - 1)
    }
}

/// The coordinates of a gather, in output order, as runs (never empty runs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Indices {
    runs: Vec<Run>,
    /// `ends[r]`: the output position after run `r`.
    ends: Vec<usize>,
}

impl Indices {
    /// Runs as given (empty ones dropped). Every coordinate must be non-negative.
    pub fn from_runs(runs: impl IntoIterator<Item = Run>) -> Indices {
        let mut out = Indices {
            runs: Vec::new(),
            ends: Vec::new(),
        };
        for r in runs.into_iter().filter(|r| r.len > 0) {
            out.push(r);
        }
        out
    }

    /// A list of coordinates, compressed into runs of a common step.
    pub fn from_positions(positions: &[usize]) -> Indices {
        let mut out = Indices::from_runs([]);
        let mut i = 0;
        while i < positions.len() {
            let start = positions[i];
            let step = match positions.get(i + 1) {
                Some(&next) => next as isize - start as isize,
                None => 1,
            };
            let mut len = 1;
            while i + len < positions.len()
                && positions[i + len] as isize == start as isize + len as isize * step
            {
                len += 1;
            }
            out.push(Run { start, step, len });
            i += len;
        }
        out
    }

    fn push(&mut self, r: Run) {
        self.ends.push(self.len() + r.len);
        self.runs.push(r);
    }

    /// The number of coordinates.
    pub fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Whether there are no coordinates.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The runs.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The pieces of output positions `from..to`: `(position, run)` with the run cut to
    /// the range, in output order.
    pub fn pieces(&self, from: usize, to: usize) -> impl Iterator<Item = (usize, Run)> + '_ {
        let first = self.ends.partition_point(|&e| e <= from);
        self.runs[first..]
            .iter()
            .zip(&self.ends[first..])
            .map(move |(r, &end)| (end - r.len, *r))
            .take_while(move |&(begin, _)| begin < to)
            .map(move |(begin, r)| {
                let skip = from.saturating_sub(begin);
                let stop = (begin + r.len).min(to);
                let cut = Run {
                    start: r.at(skip),
                    step: r.step,
                    len: stop - begin - skip,
                };
                (begin + skip, cut)
            })
            .filter(|(_, r)| r.len > 0)
    }

    /// The smallest and largest coordinate at output positions `from..to` (None when
    /// the range is empty).
    pub fn span(&self, from: usize, to: usize) -> Option<(usize, usize)> {
        self.pieces(from, to).fold(None, |acc, (_, r)| {
            let (a, b) = (r.start.min(r.last()), r.start.max(r.last()));
            Some(match acc {
                None => (a, b),
                Some((lo, hi)) => (lo.min(a), hi.max(b)),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn expand(ix: &Indices, from: usize, to: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for (at, r) in ix.pieces(from, to) {
            assert_eq!(at, from + out.len());
            out.extend((0..r.len).map(|k| r.at(k)));
        }
        out
    }

    #[test]
    fn halos_compress_to_few_runs() {
        // Blocks of 4 with one element of each neighbour, reflected at the ends.
        let positions = [0, 0, 1, 2, 3, 4, 3, 4, 5, 6, 7, 7];
        let ix = Indices::from_positions(&positions);
        assert_eq!(expand(&ix, 0, positions.len()), positions);
        assert!(ix.runs().len() <= 5, "{:?}", ix.runs());
    }

    proptest! {
        #[test]
        fn pieces_and_span_match_the_plain_list(
            positions in proptest::collection::vec(0usize..50, 0..80),
            a in 0usize..90,
            b in 0usize..90,
        ) {
            let ix = Indices::from_positions(&positions);
            prop_assert_eq!(ix.len(), positions.len());
            let (from, to) = (a.min(b).min(positions.len()), a.max(b).min(positions.len()));
            prop_assert_eq!(expand(&ix, from, to), positions[from..to].to_vec());
            let want = positions[from..to]
                .iter()
                .fold(None, |acc: Option<(usize, usize)>, &p| {
                    Some(acc.map_or((p, p), |(lo, hi)| (lo.min(p), hi.max(p))))
                });
            prop_assert_eq!(ix.span(from, to), want);
        }
    }
}
