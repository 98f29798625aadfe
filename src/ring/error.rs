//! The ring's error types.

use core::fmt;

/// A value could not be pushed because the ring was full; the value is handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PushError<T> {
    /// Every slot holds a value the consumer has not taken yet.
    Full(T),
}

impl<T> PushError<T> {
    /// Returns the value that could not be pushed.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, _consumer) = RingBuffer::new(0);
    /// let error = producer.push(String::from("kept")).unwrap_err();
    /// assert_eq!(error.into_inner(), "kept");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(value) => value,
        }
    }
}

// Written by hand so that `T` need not be `Debug`, as with std's channel errors.
impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => f.write_str("cannot push to a full ring buffer"),
        }
    }
}

impl<T> std::error::Error for PushError<T> {}

/// No value could be popped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// The producer has not pushed a value that the consumer has not taken yet.
    Empty,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopError::Empty => f.write_str("cannot pop from an empty ring buffer"),
        }
    }
}

impl std::error::Error for PopError {}

/// A ring of the requested capacity cannot be allocated: its size overflows the address
/// space, or the allocator refused it.
///
/// Its message says what the ring would have cost: the number of slots and the bytes of
/// one slot. For [`RingBuffer`](crate::ring::RingBuffer), slots come in lines of seven
/// that share one mark word (a 64-byte cache line for seven `u64`), and the number of
/// lines is a power of two; a slot's size is its share of its line. (A ring of
/// zero-sized values costs nothing and never fails.)
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::ring::RingBuffer;
///
/// let error = RingBuffer::<[u8; 128]>::try_new(usize::MAX / 2).unwrap_err();
/// assert_eq!(error.capacity(), usize::MAX / 2);
/// // Seven values and their mark word, 904 bytes, take 960 with the line's 64-byte
/// // alignment: 138 bytes a slot, rounded up.
/// assert_eq!(error.slot_size(), 138);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError {
    pub(crate) capacity: usize,
    /// The number of slots `capacity` needs, or `None` when rounding it up to a power of
    /// two overflows `usize`.
    pub(crate) storage: Option<usize>,
    pub(crate) slot_size: usize,
    pub(crate) value_size: usize,
    /// How the number of slots follows from the capacity, for the message.
    pub(crate) rounding: &'static str,
    /// What a slot holds besides the value, for the message.
    pub(crate) overhead: &'static str,
}

impl CapacityError {
    /// The capacity that was asked for.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The bytes one slot takes: the value, and its share of what publishes it (the mark
    /// word of its line, or nothing for a `BoxRing`) and of the padding that alignment
    /// needs, rounded up.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot allocate a ring buffer for {} values: ",
            self.capacity
        )?;
        match self.storage {
            Some(slots) => write!(f, "{slots} slots")?,
            None => f.write_str("more than `usize::MAX` slots")?,
        }
        write!(
            f,
            " ({}) of {} bytes each ({} for the value{})",
            self.rounding, self.slot_size, self.value_size, self.overhead
        )
    }
}

impl std::error::Error for CapacityError {}
