//! Batches: many values pushed, or popped, with one store of the shared position.
//!
//! A second way to use the same ring. `push_iter` loads the consumer's position once and
//! stores `tail` once for the whole batch (each slot still gets its mark, on the cache
//! line it writes anyway, so that `pop` can see it). `pop_iter` loads `tail` once and
//! stores `head` once, and reads no marks at all.

use core::iter::FusedIterator;

use super::{distance, next, Consumer, Producer};
use crate::sync::Ordering;

// Each `Release`/`Acquire` below is weakened to `Relaxed` in turn by `.ci/mutants`:
// mutants(loom_ring): orderings

impl<T> Producer<T> {
    /// Pushes values taken from `values` until the ring is full or `values` ends, then
    /// publishes them all with one store. Returns how many were pushed.
    ///
    /// The iterator is never advanced past what fits, so no value is taken from it and
    /// lost: what is left stays in the iterator (pass `&mut iter` to keep it). If the
    /// iterator panics, the values pushed before are published, not lost.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, mut consumer) = RingBuffer::new(3);
    /// let mut values = 10..20;
    /// assert_eq!(producer.push_iter(&mut values), 3);
    /// assert_eq!(values.next(), Some(13), "nothing beyond the third value was taken");
    /// assert_eq!(consumer.pop(), Ok(10));
    /// ```
    pub fn push_iter<I: IntoIterator<Item = T>>(&mut self, values: I) -> usize {
        let head = self.load_head();
        // Kept as this side's view too: `push` trusts `tail` never to pass the `limit`
        // that this sets.
        self.set_cached_head(head);
        let free = self.capacity - distance::<T>(head, self.tail);
        let batch = Publish {
            start: self.tail,
            producer: self,
        };
        for value in values.into_iter().take(free) {
            let producer = &mut *batch.producer;
            let tail = producer.tail;
            if super::is_zst::<T>() {
                // Nothing to write; the ring owns the value now (see `push`).
                core::mem::forget(value);
            } else {
                // SAFETY: fewer than `free` values were written before this one, so
                // position `tail` is outside `head..tail` as the `Acquire` load of `head`
                // saw it: its slot is empty and the consumer will not read it before its
                // mark (`write` stores it; `pop` reads the value once it sees it).
                unsafe { producer.write(tail, value) };
            }
            producer.tail = next::<T>(tail);
        }
        distance::<T>(batch.start, batch.producer.tail)
    }
}

/// Publishes what a `push_iter` wrote, when it ends or when the iterator panics.
struct Publish<'a, T> {
    producer: &'a mut Producer<T>,
    start: usize,
}

impl<T> Drop for Publish<'_, T> {
    fn drop(&mut self) {
        if self.producer.tail != self.start {
            // Publishes every value written by the batch (pairs with the consumer's
            // `Acquire` load of `tail`).
            self.producer
                .ring
                .tail
                .store(self.producer.tail, Ordering::Release);
        }
    }
}

impl<T> Consumer<T> {
    /// Pops, through an iterator, the values ready now; their slots are handed back to
    /// the producer with one store when the iterator is dropped.
    ///
    /// The iterator yields at most the values that were ready when it was made. Values it
    /// did not yield (say, after `take(n)`) stay in the ring. Forgetting the iterator
    /// (`mem::forget`) loses nothing either: the slots are handed back by the next pop.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, mut consumer) = RingBuffer::new(8);
    /// producer.push_iter(0..5);
    /// let firsts: Vec<i32> = consumer.pop_iter().take(3).collect();
    /// assert_eq!(firsts, [0, 1, 2]);
    /// let rest = consumer.pop_iter();
    /// assert_eq!(rest.len(), 2);
    /// assert_eq!(rest.sum::<i32>(), 3 + 4);
    /// assert!(consumer.is_empty());
    /// ```
    pub fn pop_iter(&mut self) -> PopIter<'_, T> {
        let end = self.ready_end();
        PopIter {
            start: self.head,
            end,
            consumer: self,
        }
    }
}

/// An iterator that pops the values that were ready when [`Consumer::pop_iter`] made it.
///
/// Dropping it hands every slot it emptied back to the producer at once.
pub struct PopIter<'a, T> {
    consumer: &'a mut Consumer<T>,
    start: usize,
    end: usize,
}

impl<T> Iterator for PopIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let head = self.consumer.head;
        if head == self.end {
            return None;
        }
        // SAFETY: `head` lies in `head..end`, and `end` came from `ready_end` (an
        // `Acquire` load of `tail`, stored after the values and their marks); the shared
        // `head` has not moved past it, so the producer will not overwrite it; the
        // private `head` advances past it at once, so it is moved out only once.
        let value = unsafe { self.consumer.read(head) };
        self.consumer.head = next::<T>(head);
        Some(value)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = distance::<T>(self.consumer.head, self.end);
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for PopIter<'_, T> {}

impl<T> FusedIterator for PopIter<'_, T> {}

impl<T> Drop for PopIter<'_, T> {
    fn drop(&mut self) {
        if self.consumer.head != self.start {
            self.consumer.publish_head();
        }
    }
}

impl<T> core::fmt::Debug for PopIter<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PopIter")
            .field("remaining", &self.len())
            .finish()
    }
}
