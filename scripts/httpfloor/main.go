// Command httpfloor measures what a bare net/http server costs per request
// on this machine with one keep-alive connection and with eight: the floor
// under wbemd's GetInstance with one connection (issue 21, BENCHMARKS.md).
// The server runs in a child process that answers every POST with 1.3 KB
// and reads nothing else; the parent loads it and prints the server's CPU
// time (user and system, getrusage in the child) per request.
//
//	go run ./scripts/httpfloor [-rounds 4] [-requests 5000]
//
// SERVER_ENV=GOMAXPROCS=1 passes a variable to the server alone.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// answer is about the size of a GetInstance answer.
var answer = bytes.Repeat([]byte("<VALUE>x</VALUE>"), 80)

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serve answers on a loopback port it prints: /cpu with its CPU time in
// nanoseconds, anything else with the answer.
func serve() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	mux := http.NewServeMux()
	mux.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, int64(cpu())) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.Write(answer)
	})
	log.Fatal(http.Serve(ln, mux))
}

func serverCPU(c *http.Client, addr string) time.Duration {
	r, err := c.Get("http://" + addr + "/cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		log.Fatal(err)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		log.Fatal(err)
	}
	return time.Duration(n)
}

// load posts n requests over conns connections and returns the server's
// CPU time per request in microseconds.
func load(addr string, conns, n int) float64 {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	body := bytes.Repeat([]byte("<x/>"), 100)
	before := serverCPU(c, addr)
	per := n / conns
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for range per {
				r, err := c.Post("http://"+addr+"/cimom", "application/xml", bytes.NewReader(body))
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		})
	}
	wg.Wait()
	return float64(serverCPU(c, addr)-before) / float64(time.Microsecond) / float64(per*conns)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		serve()
		return
	}
	rounds := flag.Int("rounds", 4, "rounds of one connection then eight")
	requests := flag.Int("requests", 5000, "requests a phase")
	flag.Parse()
	cmd := exec.Command(os.Args[0], "serve")
	if env := os.Getenv("SERVER_ENV"); env != "" {
		cmd.Env = append(os.Environ(), env)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 64)
	k, err := out.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	addr := strings.TrimSpace(string(buf[:k]))
	load(addr, 8, 2000) // warm up
	for range *rounds {
		one := load(addr, 1, *requests)
		eight := load(addr, 8, *requests)
		fmt.Printf("server CPU per request: 1 connection %.1f µs, 8 connections %.1f µs, ratio %.2f\n", one, eight, one/eight)
	}
}
