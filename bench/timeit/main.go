// Command timeit runs two commands alternately N times each and prints the median, p10 and p90
// wall time of each and the difference of the medians: timeit -n N CMD1 ARGS... ::: CMD2 ARGS...
// (":::" separates them, so that either command may contain "--").
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

func main() {
	n := flag.Int("n", 200, "runs of each command")
	flag.Parse()
	args := flag.Args()
	i := slices.Index(args, ":::")
	if i < 1 || i == len(args)-1 {
		fmt.Fprintln(os.Stderr, "usage: timeit -n N CMD1 ARGS... ::: CMD2 ARGS...")
		os.Exit(2)
	}
	cmds := [][]string{args[:i], args[i+1:]}
	times := make([][]time.Duration, 2)
	for r := 0; r < *n; r++ {
		for c, argv := range cmds {
			start := time.Now()
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "%q: %v\n", argv, err)
				os.Exit(1)
			}
			times[c] = append(times[c], time.Since(start))
		}
	}
	med := make([]time.Duration, 2)
	for c, ts := range times {
		slices.Sort(ts)
		med[c] = ts[len(ts)/2]
		fmt.Printf("%-40.40q median %8.2f ms  p10 %8.2f ms  p90 %8.2f ms\n", cmds[c],
			ms(med[c]), ms(ts[len(ts)/10]), ms(ts[len(ts)*9/10]))
	}
	fmt.Printf("overhead (median difference): %.2f ms over %d runs each\n", ms(med[1]-med[0]), *n)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
