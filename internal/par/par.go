// Package par is the parallel-for of the module: it runs a loop body over
// the indices 0..n-1 on a fixed number of goroutines, each goroutine taking
// the next unclaimed index in turn. Which goroutine runs which index varies
// from run to run, so callers that need results independent of the
// goroutine count write each index's result to its own place and combine
// them in index order afterwards (that is how the samplers, the enumeration
// and the overlap histogram of package model stay bit-for-bit the same on
// any number of cores).
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers resolves a worker count: w itself when w ≥ 1, GOMAXPROCS when
// w ≤ 0.
func Workers(w int) int {
	if w <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return w
}

// For calls body(slot, c) for every c in [0, n) and returns when every call
// has returned. The calls run on min(Workers(workers), n) goroutines; slot,
// in [0, Workers(workers)), names the goroutine making the call, so that
// body can use per-goroutine scratch without locks. With one goroutine the
// calls run on the caller's, in index order.
func For(workers, n int, body func(slot, c int)) {
	w := min(Workers(workers), n)
	if w <= 1 {
		for c := range n {
			body(0, c)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for slot := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(&next, n, slot, body)
		}()
	}
	wg.Wait()
}

// loop claims indices from next until n and runs body on each.
func loop(next *atomic.Int64, n, slot int, body func(slot, c int)) {
	for {
		c := int(next.Add(1) - 1)
		if c >= n {
			return
		}
		body(slot, c)
	}
}

// Pool is For on goroutines that are started once and parked between loops,
// so that a loop allocates nothing (For starts goroutines each time). A
// Pool runs one loop at a time: For must not be called concurrently. Close
// releases the goroutines.
type Pool struct {
	workers int
	start   []chan struct{}
	wg      sync.WaitGroup
	next    atomic.Int64
	n       int
	body    func(slot, c int)
	closed  bool
}

// NewPool starts Workers(workers) - 1 parked goroutines; the caller's
// goroutine is the last worker of every loop.
func NewPool(workers int) *Pool {
	p := &Pool{workers: Workers(workers)}
	p.start = make([]chan struct{}, p.workers-1)
	for i := range p.start {
		ch := make(chan struct{})
		p.start[i] = ch
		slot := i + 1
		go func() {
			for range ch {
				loop(&p.next, p.n, slot, p.body)
				p.wg.Done()
			}
		}()
	}
	return p
}

// Workers returns the number of goroutines of a loop (the caller's included).
func (p *Pool) Workers() int { return p.workers }

// For calls body(slot, c) for every c in [0, n), as the function For does,
// with slot in [0, Workers()), and returns when every call has returned. It
// allocates nothing when body is a func value that already exists (bind a
// method value once, not at every call). It panics after Close.
func (p *Pool) For(n int, body func(slot, c int)) {
	if p.closed {
		panic("par: Pool.For after Close")
	}
	if n <= 0 {
		return
	}
	p.next.Store(0)
	p.n, p.body = n, body
	helpers := min(len(p.start), n-1)
	p.wg.Add(helpers)
	for _, ch := range p.start[:helpers] {
		ch <- struct{}{}
	}
	loop(&p.next, n, 0, body)
	p.wg.Wait()
	p.body = nil
}

// Close stops the parked goroutines. A second Close does nothing.
func (p *Pool) Close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.start {
		close(ch)
	}
}
