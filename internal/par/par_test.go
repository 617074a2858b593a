package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// Every index is visited exactly once, by a slot in range, for any worker
// count, with For and with a Pool.
func TestEveryIndexOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 7, 100} {
			w := Workers(workers)
			check := func(name string, run func(body func(slot, c int))) {
				seen := make([]atomic.Int32, n)
				var bad atomic.Int32
				run(func(slot, c int) {
					if slot < 0 || slot >= w {
						bad.Add(1)
					}
					seen[c].Add(1)
				})
				if bad.Load() != 0 {
					t.Errorf("%s workers=%d n=%d: %d calls with a slot outside [0, %d)", name, workers, n, bad.Load(), w)
				}
				for c := range seen {
					if v := seen[c].Load(); v != 1 {
						t.Errorf("%s workers=%d n=%d: index %d visited %d times", name, workers, n, c, v)
					}
				}
			}
			check("For", func(body func(slot, c int)) { For(workers, n, body) })
			p := NewPool(workers)
			check("Pool", func(body func(slot, c int)) { p.For(n, body) })
			check("Pool again", func(body func(slot, c int)) { p.For(n, body) })
			p.Close()
			p.Close()
		}
	}
	if Workers(0) != runtime.GOMAXPROCS(0) || Workers(-3) != runtime.GOMAXPROCS(0) || Workers(5) != 5 {
		t.Errorf("Workers(0), Workers(-3), Workers(5) = %d, %d, %d", Workers(0), Workers(-3), Workers(5))
	}
}

// One worker runs on the caller's goroutine in index order.
func TestOneWorkerInOrder(t *testing.T) {
	var got []int
	For(1, 5, func(slot, c int) { got = append(got, c) })
	p := NewPool(1)
	defer p.Close()
	p.For(5, func(slot, c int) { got = append(got, c) })
	for k, c := range got {
		if c != k%5 {
			t.Fatalf("one worker visited %v, want 0..4 twice in order", got)
		}
	}
}

// Several goroutines really run the loop: with more workers than one, a body
// that waits for a second caller finishes only if two run at once.
func TestPoolRunsInParallel(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var arrived atomic.Int32
	p.For(2, func(slot, c int) {
		arrived.Add(1)
		for arrived.Load() < 2 {
			runtime.Gosched()
		}
	})
}

func TestPoolAllocatesNothing(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var sum atomic.Int64
	body := func(slot, c int) { sum.Add(int64(c)) }
	p.For(64, body)
	if a := testing.AllocsPerRun(50, func() { p.For(64, body) }); a != 0 {
		t.Errorf("Pool.For allocates %v times per loop, want 0", a)
	}
}

func TestPoolForAfterClosePanics(t *testing.T) {
	p := NewPool(2)
	p.Close()
	defer func() {
		if recover() == nil {
			t.Error("For after Close did not panic")
		}
	}()
	p.For(3, func(int, int) {})
}
