package sqltest

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/sqldb"
)

// Fault is a pool on a test database that the test can break, to see how a
// store or a handler behaves when the database stops answering or goes
// away. Build the code under test on Fault.DB.
//
// On PostgreSQL the pool reaches the server through a TCP proxy inside the
// test: Freeze makes the proxy stop forwarding bytes (the server seems to
// hang), Down closes every connection and refuses new ones (the server
// seems to have stopped). On SQLite, Freeze makes another connection take
// and hold the write lock (writers wait beyond any busy timeout; readers
// still read), and Down closes the pool.
type Fault struct {
	// DB is the pool to build the code under test on.
	DB *sql.DB
	// URL opens more pools that break with DB (through the proxy on
	// PostgreSQL), for a program under test that opens its own.
	URL string

	t      testing.TB
	engine sqlstore.Dialect
	url    string
	proxy  *proxy
	lock   *sql.Tx
	mu     sync.Mutex
}

// Faulty returns a breakable pool on the same database as db, with short
// busy timeout and small pool so that the tests that use it run fast. It is
// closed when the test ends.
func Faulty(t testing.TB, db *DB, busy time.Duration) *Fault {
	t.Helper()
	f := &Fault{t: t, engine: db.Dialect(), url: db.URL}
	u := db.URL
	if f.engine == sqlstore.Postgres {
		pu, err := url.Parse(db.URL)
		if err != nil {
			t.Fatalf("sqltest: fault: %v", err)
		}
		f.proxy = startProxy(t, pu.Host)
		pu.Host = f.proxy.addr
		u = pu.String()
	}
	p, err := sqldb.Open(context.Background(), u, &sqldb.Options{MaxOpenConns: 4, BusyTimeout: busy})
	if err != nil {
		t.Fatalf("sqltest: fault: open: %v", err)
	}
	f.DB, f.URL = p, u
	t.Cleanup(func() {
		f.Thaw()
		if f.proxy != nil {
			f.proxy.close()
		}
		p.Close()
	})
	return f
}

// Freeze makes the database stop answering (see [Fault]).
func (f *Fault) Freeze() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proxy != nil {
		f.proxy.freeze()
		return
	}
	if f.lock != nil {
		return
	}
	other, err := sqldb.Open(context.Background(), f.url, &sqldb.Options{MaxOpenConns: 1})
	if err != nil {
		f.t.Fatalf("sqltest: freeze: %v", err)
	}
	f.t.Cleanup(func() { other.Close() })
	tx, err := other.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		f.t.Fatalf("sqltest: freeze: %v", err)
	}
	f.lock = tx
}

// Thaw undoes Freeze: the write lock is released, or the proxy forwards
// again what it held.
func (f *Fault) Thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proxy != nil {
		f.proxy.thaw()
	}
	if f.lock != nil {
		_ = f.lock.Rollback()
		f.lock = nil
	}
}

// Down makes the database unreachable (see [Fault]).
func (f *Fault) Down() {
	if f.proxy != nil {
		f.proxy.close()
		return
	}
	f.DB.Close()
}

// proxy forwards TCP connections to target until frozen or closed.
type proxy struct {
	addr   string
	target string
	ln     net.Listener

	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed on thaw
	conns  map[net.Conn]bool
	closed bool
}

func startProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sqltest: proxy: %v", err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}, thawed: make(chan struct{})}
	close(p.thawed)
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *proxy) forward(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		return
	}
	go p.pipe(server, client)
	p.pipe(client, server)
}

// pipe copies src to dst, holding each chunk while the proxy is frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			wait := p.thawed
			p.mu.Unlock()
			<-wait
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen = true
		p.thawed = make(chan struct{})
	}
}

func (p *proxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thawed)
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	if p.frozen {
		p.frozen = false
		close(p.thawed)
	}
}
