#!/usr/bin/env python3
# Rewrites README.md's "Command-line reference" from the program's own --help
# and `list` (which the options and backend-key tables print): run it after
# adding an option or a key. tests/test_cli.c checks the README against the tables.
import os, re, subprocess, sys
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
ap = sys.argv[1] if len(sys.argv) > 1 else './agentperf'
def run(*a): return subprocess.run([ap,*a],capture_output=True,text=True).stdout
main=run('--help')
cmds=[]
on=False
for l in main.splitlines():
    if l.startswith('commands:'): on=True; continue
    if on:
        if not l.strip(): break
        m=re.match(r'  (\S+)',l)
        if m: cmds.append(m.group(1))
out=['## Command-line reference','',
'Every option and backend key, from the tables the program itself parses with (`agentperf',
'CMD --help` prints the same; `tests/test_cli.c` fails when this list and the program differ;',
'`scripts/cli-reference.py` rewrites it).','']
seen=set()
seen_opts={}
opt_order=[]
for c in cmds:
    h=run(c,'--help')
    opts=[]
    cur=None
    for l in h.splitlines():
        m=re.match(r'^  (?:-(\w), )?(?:    )?--([a-z0-9-]+)(?: (\S+))?\s*(.*)$',l)
        if m and l.startswith('  ') and ('--' in l[:12]):
            cur=[m.group(1),m.group(2),m.group(3),m.group(4).strip()]
            opts.append(cur)
        elif cur and l.startswith(' '*27) and l.strip():
            cur[3]=(cur[3]+' '+l.strip()).strip()
        elif not l.strip():
            cur=None
    if not opts or c in ('sweep','proxy','table','merge'):
        continue
    for s_,n,a,hh in opts:
        if n in ('help','verbose'): continue
        name=('`-%s`, '%s_ if s_ else '')+'`--%s%s`'%(n,' '+a if a else '')
        if name not in seen_opts: seen_opts[name]=[hh,[]]; opt_order.append(name)
        seen_opts[name][1].append(c)
out.append('| option | commands | meaning |'); out.append('| --- | --- | --- |')
for name in opt_order:
    hh,cs=seen_opts[name]
    out.append('| %s | %s | %s |'%(name.replace('|','\\|'), ' '.join(cs), hh.replace('|','\\|')))
out.append('')
out.append('Every command also takes `-v`/`--verbose` (twice: debug) and `-h`/`--help`. `sweep`, `proxy`,')
out.append('`table` and `merge` print their own options with `--help`.')
out.append('')
out.append('Backend keys (`-b KIND:key=value,...`; `agentperf list` shows each kind\'s defaults):')
out.append('')
l=run('list')
kinds={}
cur=None
for line in l.splitlines():
    m=re.match(r'^  (\S+)\s{2,}\S',line)
    if line.startswith('backends'): continue
    if line.startswith('workloads in'): break
    mk=re.match(r'^  ([a-z-]+) +(.*)$',line)
    if mk and not line.startswith('   '):
        cur=mk.group(1); kinds[cur]=[]; continue
    mkey=re.match(r'^ {17}(\w+)=(\S+) +(.*)$',line)
    if mkey and cur: kinds[cur].append(mkey.groups())
out.append('| key | kinds | meaning |'); out.append('| --- | --- | --- |')
rows={}
order=[]
for k,keys in kinds.items():
    for name,arg,hh in keys:
        key=(name,arg,hh)
        if key not in rows: rows[key]=[]; order.append(key)
        rows[key].append(k)
for key in order:
    name,arg,hh=key
    out.append('| `%s=%s` | %s | %s |'%(name,arg.replace('|','\\|'),', '.join(rows[key]),hh.replace('|','\\|')))
text = open('README.md').read()
a = text.index('## Command-line reference')
b = text.index('\n## ', a + 5) + 1
open('README.md', 'w').write(text[:a] + '\n'.join(out) + '\n\n' + text[b:])
