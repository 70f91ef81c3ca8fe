/**
 * The helper lora-top runs on a GPU box over SSH: a Python 3 program sent in the command line
 * (zlib + base64, see agentCommand.ts), so nothing is installed on the box and nothing of it stays
 * there. It speaks on its standard input and output: one JSON request a line in; one JSON header a
 * line out, followed by `n` raw bytes when the header has `n` (log bytes and sample files cross the
 * link as they are, not re-encoded).
 *
 * It only reports facts (directory listings, file bytes, /proc) and carries out signals and the
 * UI database's flags after checking the process's start time; the proof that a process is the
 * run's trainer stays in lora-top (trainerProof.ts), which asks for the facts it needs. A freeze it
 * carried out is lifted when the connection ends however it ends (end of input, hang-up, a write
 * that fails), so a dropped link never leaves the trainer stopped.
 *
 * Python 3.6+ and its standard library only. Kept as text here so the bundle carries it.
 */
export const AGENT_SOURCE = String.raw`
import errno, json, os, re, select, signal, socket, sqlite3, stat, sys, time

OUT = sys.stdout.buffer
IN = 0
POLL = 0.25
follows = {}
dirwatches = {}
held = {}
keepers = []
CHUNK = 1 << 20


def thaw_all():
    for key in list(held):
        pid, start = held.pop(key)
        try:
            send_tree(pid, start, signal.SIGCONT, True)
        except Exception:
            pass


def bye(*_):
    thaw_all()
    os._exit(0)


def write(header, data=None):
    if data is not None:
        header['n'] = len(data)
    try:
        OUT.write(json.dumps(header, separators=(',', ':')).encode('ascii') + b'\n')
        if data:
            OUT.write(data)
        OUT.flush()
    except (BrokenPipeError, OSError):
        bye()


def fs(path):
    return os.fsencode(path)


def text(b):
    return os.fsdecode(b)


def kind(mode):
    if stat.S_ISREG(mode):
        return 'f'
    if stat.S_ISDIR(mode):
        return 'd'
    return 'o'


def stat_entry(st):
    return {'type': kind(st.st_mode), 'size': st.st_size, 'mtimeMs': st.st_mtime_ns / 1e6,
            'ctimeMs': st.st_ctime_ns / 1e6, 'ino': st.st_ino}


def op_hello(req):
    return {'pid': os.getpid(), 'host': socket.gethostname(), 'home': os.path.expanduser('~'),
            'cwd': os.getcwd(), 'py': sys.version.split()[0], 'uid': os.getuid(),
            'ticks': os.sysconf('SC_CLK_TCK')}


def op_list(req):
    path = req['path']
    out = []
    for name in os.listdir(fs(path)):
        full = os.path.join(fs(path), name)
        try:
            st = os.stat(full)
            link = stat.S_ISLNK(os.lstat(full).st_mode)
            out.append([text(name), kind(st.st_mode), st.st_size, st.st_mtime_ns / 1e6, st.st_ctime_ns / 1e6, link])
        except OSError:
            continue
    return {'entries': out}


def op_stat(req):
    return stat_entry(os.stat(fs(req['path'])))


def op_stats(req):
    # Several stats in one answer: [type, size, mtimeMs, ctimeMs, ino], or [None, error, code].
    out = []
    for path in req['paths']:
        try:
            st = os.stat(fs(path))
            out.append([kind(st.st_mode), st.st_size, st.st_mtime_ns / 1e6, st.st_ctime_ns / 1e6, st.st_ino])
        except OSError as e:
            out.append([None, os.strerror(e.errno or 0) if e.errno else str(e), errno.errorcode.get(e.errno, '')])
    return {'entries': out}


def op_realpath(req):
    return {'path': text(os.path.realpath(fs(req['path'])))}


def op_statvfs(req):
    st = os.statvfs(fs(req['path']))
    return {'free': st.f_bavail * st.f_frsize, 'total': st.f_blocks * st.f_frsize}


def op_read(req):
    limit = int(req.get('max', 64 << 20))
    with open(fs(req['path']), 'rb') as f:
        f.seek(int(req.get('offset', 0)))
        data = f.read(limit)
    return {'_data': data}


def proc_stat(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            raw = f.read().decode('ascii', 'replace')
    except OSError:
        return None
    close = raw.rfind(')')
    if close < 0:
        return None
    fields = raw[close + 1:].split()
    try:
        return {'state': fields[0], 'ppid': int(fields[1]), 'start': int(fields[19])}
    except (IndexError, ValueError):
        return None


def proc_argv(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            raw = f.read()
    except OSError:
        return None
    parts = raw.split(b'\0')
    if parts and parts[-1] == b'':
        parts.pop()
    return [text(p) for p in parts] if parts else None


def pids():
    for name in os.listdir('/proc'):
        if name.isdigit():
            yield int(name)


def op_procs(req):
    argv0 = re.compile(req['argv0'])
    script = req['script']
    out = []
    for pid in pids():
        if pid == os.getpid():
            continue
        argv = proc_argv(pid)
        if not argv or not argv0.search(os.path.basename(argv[0])):
            continue
        if not any(a == script or os.path.basename(a) == script for a in argv[1:]):
            continue
        st = proc_stat(pid)
        if st:
            out.append({'pid': pid, 'start': st['start'], 'argv': argv})
    return {'procs': out}


def op_proc(req):
    pid = int(req['pid'])
    st = proc_stat(pid)
    if st is None:
        return {'gone': True}
    try:
        cwd = text(os.readlink('/proc/%d/cwd' % pid))
    except OSError:
        cwd = None
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            env = {}
            for entry in f.read().split(b'\0'):
                key, eq, value = entry.partition(b'=')
                if eq and key:
                    env[text(key)] = text(value)
    except OSError:
        env = None
    return {'start': st['start'], 'state': st['state'], 'ppid': st['ppid'], 'argv': proc_argv(pid), 'cwd': cwd, 'env': env}


def op_files(req):
    out = {}
    for path in req['paths']:
        entry = {'isFile': False, 'real': None, 'text': None}
        try:
            entry['real'] = text(os.path.realpath(fs(path)))
            st = os.stat(fs(path))
            entry['isFile'] = stat.S_ISREG(st.st_mode)
            if entry['isFile'] and st.st_size <= int(req.get('max', 1 << 20)):
                with open(fs(path), 'rb') as f:
                    entry['text'] = f.read().decode('utf-8', 'replace')
        except OSError:
            pass
        out[path] = entry
    return {'files': out}


def life(pid, start):
    st = proc_stat(pid)
    if st is None or st['start'] != start or st['state'] in ('Z', 'X'):
        return 'gone'
    return 'stopped' if st['state'] == 'T' else 'running'


def op_life(req):
    return {'life': life(int(req['pid']), int(req['start']))}


def descendants(pid, start):
    children = {}
    for p in pids():
        st = proc_stat(p)
        if st:
            children.setdefault(st['ppid'], []).append((p, st['start']))
    out, queue, seen = [], [pid], {pid}
    while queue:
        for child, cstart in children.get(queue.pop(0), []):
            if child in seen or cstart < start:
                continue
            seen.add(child)
            out.append((child, cstart))
            queue.append(child)
    return out


def send_one(pid, start, sig):
    st = proc_stat(pid)
    if st is None or st['start'] != start:
        return False
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False


def send_tree(pid, start, sig, tree):
    st = proc_stat(pid)
    if st is None:
        raise Failure('the trainer (pid %d) has exited' % pid)
    if st['start'] != start:
        raise Failure('pid %d is now another process (the trainer exited): nothing sent' % pid)
    count = 0
    if tree and sig == signal.SIGCONT:
        count += sum(1 for c in descendants(pid, start) if send_one(c[0], c[1], sig))
    try:
        os.kill(pid, sig)
    except OSError as e:
        if e.errno == errno.EPERM:
            raise Failure("not allowed to signal pid %d (another user's process?)" % pid)
        raise Failure('the trainer (pid %d) has exited' % pid)
    count += 1
    if tree and sig != signal.SIGCONT:
        count += sum(1 for c in descendants(pid, start) if send_one(c[0], c[1], sig))
    return count


SIGNALS = {'SIGSTOP': signal.SIGSTOP, 'SIGCONT': signal.SIGCONT, 'SIGINT': signal.SIGINT}


def op_signal(req):
    pid, start = int(req['pid']), int(req['start'])
    count = send_tree(pid, start, SIGNALS[req['signal']], bool(req.get('tree')))
    key = '%d:%d' % (pid, start)
    if req.get('hold'):
        held[key] = (pid, start)
    if req.get('release'):
        held.pop(key, None)
    return {'processes': count}


def op_release(req):
    held.pop('%d:%d' % (int(req['pid']), int(req['start'])), None)
    return {}


FLAGS = ('save_now', 'sample_now', 'stop')


def op_flag(req):
    flag = req['flag']
    if flag not in FLAGS:
        raise Failure('unknown flag')
    path = req['db']
    if not os.path.exists(fs(path)):
        raise Failure('%s does not exist' % path)
    db = sqlite3.connect(path, timeout=5)
    try:
        with db:
            changed = db.execute('UPDATE Job SET %s = 1 WHERE id = ?' % flag, (req['jobId'],)).rowcount
        if changed == 0:
            raise Failure('no job %s in the database' % req['jobId'])
    except sqlite3.OperationalError as e:
        raise Failure('%s: %s' % (path, str(e).split('\n')[0]))
    finally:
        db.close()
    return {}


def op_query(req):
    path = req['db']
    if not os.path.exists(fs(path)):
        raise Failure('%s does not exist' % path)
    db = sqlite3.connect('file:%s?mode=ro' % path.replace('?', '%3f').replace('#', '%23'), uri=True, timeout=5)
    try:
        db.execute('PRAGMA query_only = 1')
        cur = db.execute(req['sql'], req.get('args', []))
        names = [d[0] for d in cur.description or []]
        return {'columns': names, 'rows': [list(r) for r in cur.fetchall()]}
    except sqlite3.Error as e:
        raise Failure('%s: %s' % (path, str(e).split('\n')[0]))
    finally:
        db.close()


class Follow(object):
    def __init__(self, key, path, offset, ino):
        self.key, self.path, self.pos, self.fd, self.ino = key, fs(path), max(0, offset), None, None
        self.expect = ino
        self.waiting = False

    def open(self):
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            if not self.waiting:
                self.waiting = True
                write({'w': self.key, 't': 'waiting'})
            return False
        if self.waiting:
            self.waiting = False
            self.pos = 0
            write({'w': self.key, 't': 'reset', 'why': 'created'})
        self.fd, self.ino = fd, os.fstat(fd).st_ino
        if self.expect is not None and self.expect != self.ino and self.pos > 0:
            self.pos = 0
            write({'w': self.key, 't': 'reset', 'why': 'rotated'})
        self.expect = None
        return True

    def drain(self):
        moved = False
        size = os.fstat(self.fd).st_size
        if size < self.pos:
            self.pos = 0
            write({'w': self.key, 't': 'reset', 'why': 'truncated'})
        while True:
            data = os.pread(self.fd, CHUNK, self.pos)
            if not data:
                break
            self.pos += len(data)
            moved = True
            write({'w': self.key, 't': 'data', 'ino': self.ino}, data)
            if len(data) < CHUNK:
                break
        return moved

    def poll(self):
        if self.fd is None and not self.open():
            return
        self.drain()
        try:
            ino = os.stat(self.path).st_ino
        except OSError:
            return
        if ino != self.ino:
            self.drain()
            os.close(self.fd)
            self.fd = None
            self.pos = 0
            write({'w': self.key, 't': 'reset', 'why': 'rotated'})
            self.open()
            self.drain()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def op_follow(req):
    key = req['key']
    if key in follows:
        follows.pop(key).close()
    follow = Follow(key, req['path'], int(req.get('offset', 0)), req.get('ino'))
    follows[key] = follow
    follow.poll()
    return {}


def op_unfollow(req):
    follow = follows.pop(req['key'], None)
    if follow:
        follow.close()
    dirwatches.pop(req['key'], None)
    return {}


def dir_mark(path):
    try:
        st = os.stat(path)
        return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    except OSError:
        return None


def op_watchdir(req):
    dirwatches[req['key']] = [fs(req['path']), dir_mark(fs(req['path']))]
    return {}


def poll_all():
    for follow in list(follows.values()):
        try:
            follow.poll()
        except OSError as e:
            write({'w': follow.key, 't': 'error', 'error': os.strerror(e.errno or 0), 'code': errno.errorcode.get(e.errno, '')})
    for key, watch in list(dirwatches.items()):
        mark = dir_mark(watch[0])
        if mark != watch[1]:
            watch[1] = mark
            write({'w': key, 't': 'changed'})


class Failure(Exception):
    pass


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith('op_')}


def handle(line):
    try:
        req = json.loads(line.decode('utf-8', 'surrogateescape'))
    except ValueError:
        return
    rid = req.get('id')
    try:
        op = OPS.get(req.get('op'))
        if op is None:
            raise Failure('unknown request %r' % req.get('op'))
        result = op(req)
        data = result.pop('_data', None)
        result['id'] = rid
        result['ok'] = True
        write(result, data)
    except Failure as e:
        write({'id': rid, 'ok': False, 'error': str(e)})
    except OSError as e:
        write({'id': rid, 'ok': False, 'error': os.strerror(e.errno or 0) if e.errno else str(e), 'code': errno.errorcode.get(e.errno, '')})
    except Exception as e:
        write({'id': rid, 'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})


def main():
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, bye)
    write({'t': 'ready', 'v': 1})
    buf = b''
    next_poll = time.time() + POLL
    while True:
        timeout = max(0.0, next_poll - time.time()) if (follows or dirwatches) else None
        ready, _, _ = select.select([IN], [], [], timeout)
        if ready:
            chunk = os.read(IN, 65536)
            if not chunk:
                bye()
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                handle(line)
        if time.time() >= next_poll:
            poll_all()
            next_poll = time.time() + POLL


main()
`;
