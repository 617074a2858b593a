// Command _gen writes the amd64 assembly kernels of package h2arnn, their Go
// declarations and their constant table, from one description of each
// kernel for both instruction sets (AVX2+FMA and AVX-512F/DQ/VL). Run it
// with `go generate` in the h2arnn directory (see kernels_amd64.go); it is
// its own module so that the library does not depend on avo.
//
// It writes:
//
//	kernels_amd64.s            the kernels, <name>AVX2 and <name>AVX512
//	kernels_stubs_amd64.go     their Go declarations
//	kernels_consts_amd64.go    the constant table (from internal/kconst),
//	                           as hexadecimal float literals
//	kernels_consts_amd64_test.go  the table's names, for the test that
//	                           recomputes it bit for bit
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/h2arnn/h2arnn/internal/kconst"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

func main() {
	dir := flag.String("dir", "..", "the h2arnn package directory to write into")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("_gen: ")

	table := kconst.Table()
	isMask := map[string]bool{}
	for _, e := range table {
		isMask[e.Name] = e.Mask
	}

	ctx := build.NewContext()
	ctx.Constraint(buildtags.Not("noasm").ToConstraint())
	tailMaskData(ctx)
	flops := map[string]int{}
	for _, a := range []isa{avx2, avx512} {
		g := &gen{Context: ctx, isa: a, consts: isMask}
		g.genExp()
		g.genLog1p()
		g.genLogSigmoid()
		g.genSigmoid()
		g.genSumExp(false)
		g.genSumExp(true)
		g.genMaxAffine()
		g.genAxpy()
		g.genDot()
		flops[a.name] = g.genLayer()
		g.genBackward()
		g.genFMAPeak()
	}
	f, err := ctx.Result()
	if err != nil {
		log.Fatal(err)
	}
	cfg := printer.Config{Name: "_gen (go generate in the h2arnn directory)", Pkg: "h2arnn"}
	out := func(name string, b printer.Builder) pass.Interface {
		w, err := os.Create(filepath.Join(*dir, name))
		if err != nil {
			log.Fatal(err)
		}
		return &pass.Output{Writer: w, Printer: b(cfg)}
	}
	goAsmHeader := pass.Func(func(f *ir.File) error {
		f.Includes = append(f.Includes, "go_asm.h") // the offsets const_kc<Name>
		return nil
	})
	p := pass.Concat(pass.Compile, goAsmHeader,
		out("kernels_amd64.s", printer.NewGoAsm),
		out("kernels_stubs_amd64.go", printer.NewStubs))
	if err := p.Execute(f); err != nil {
		log.Fatal(err)
	}
	if err := writeConsts(*dir, cfg.GeneratedWarning(), table, flops); err != nil {
		log.Fatal(err)
	}
}
