//! Affine views: slicing, integer indexing, transposes, new axes and broadcasting all
//! map an output coordinate to an input coordinate axis by axis, so they compose into
//! one view that a kernel reads through, without copying.

use serde::{Deserialize, Serialize};

/// How one input axis's coordinate follows from the output coordinates:
/// `input[a] = start + step * output[from]`, or just `start` when `from` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AxisCoord {
    /// The output axis the coordinate follows, if any.
    pub from: Option<usize>,
    /// The offset.
    pub start: i64,
    /// The step per output element (negative for reversed slices, 0 to broadcast).
    pub step: i64,
}

/// A view of an input array: one [`AxisCoord`] per input axis.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct View {
    /// The coordinate rule of each input axis.
    pub coords: Vec<AxisCoord>,
}

impl View {
    /// The identity view of an `ndim`-dimensional array.
    pub fn identity(ndim: usize) -> View {
        View {
            coords: (0..ndim)
                .map(|a| AxisCoord {
                    from: Some(a),
                    start: 0,
                    step: 1,
                })
                .collect(),
        }
    }

    /// True if the view maps every axis to itself.
    pub fn is_identity(&self) -> bool {
        self.coords
            .iter()
            .enumerate()
            .all(|(a, c)| c.from == Some(a) && c.start == 0 && c.step == 1)
    }

    /// The view of this view's input seen through `inner`, a view whose output space
    /// is this view's input space: `self` maps iteration coordinates to node
    /// coordinates and `inner` maps node coordinates to the node's input coordinates.
    pub fn then(&self, inner: &View) -> View {
        View {
            coords: inner
                .coords
                .iter()
                .map(|c| match c.from {
                    None => *c,
                    Some(k) => {
                        let cur = self.coords[k];
                        AxisCoord {
                            from: cur.from,
                            start: c.start + c.step * cur.start,
                            step: c.step * cur.step,
                        }
                    }
                })
                .collect(),
        }
    }

    /// The input coordinate range `(lo, hi)` reached on axis `a` by an output block
    /// with offsets `offset` and shape `shape`.
    pub fn range(&self, a: usize, offset: &[usize], shape: &[usize]) -> (i64, i64) {
        let c = self.coords[a];
        match c.from {
            None => (c.start, c.start),
            Some(k) => {
                let first = c.start + c.step * offset[k] as i64;
                let last = first + c.step * (shape[k] as i64 - 1).max(0);
                (first.min(last), first.max(last))
            }
        }
    }

    /// For input strides `strides` (elements per input axis), the element address of
    /// the output block's first element and the address step per output axis.
    pub fn address(
        &self,
        strides: &[isize],
        origin: &[i64],
        offset: &[usize],
        out_ndim: usize,
    ) -> (isize, Vec<isize>) {
        let mut base = 0isize;
        let mut steps = vec![0isize; out_ndim];
        for (a, c) in self.coords.iter().enumerate() {
            let first = match c.from {
                None => c.start,
                Some(k) => {
                    steps[k] += c.step as isize * strides[a];
                    c.start + c.step * offset[k] as i64
                }
            };
            base += (first - origin[a]) as isize * strides[a];
        }
        (base, steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_compose() {
        // x[2::3] then [1::2] == x[5::6]
        let outer = View {
            coords: vec![AxisCoord {
                from: Some(0),
                start: 1,
                step: 2,
            }],
        };
        let inner = View {
            coords: vec![AxisCoord {
                from: Some(0),
                start: 2,
                step: 3,
            }],
        };
        let c = outer.then(&inner);
        assert_eq!(
            c.coords[0],
            AxisCoord {
                from: Some(0),
                start: 5,
                step: 6
            }
        );
    }

    #[test]
    fn transpose_then_index_addresses() {
        // A (3, 4) C-order array; view = transpose, block at offset (1, 0) of shape (2, 3).
        let t = View {
            coords: vec![
                AxisCoord {
                    from: Some(1),
                    start: 0,
                    step: 1,
                },
                AxisCoord {
                    from: Some(0),
                    start: 0,
                    step: 1,
                },
            ],
        };
        let (base, steps) = t.address(&[4, 1], &[0, 0], &[1, 0], 2);
        assert_eq!(base, 1);
        assert_eq!(steps, vec![1, 4]);
    }
}
