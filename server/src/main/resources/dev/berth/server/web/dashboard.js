// The Berth dashboard: reads /api/state, then follows /api/stream (Server-Sent Events read with
// fetch, so the admin token travels in a header and never in a URL), polling /api/state only while
// the stream is down. Everything is drawn from the JSON with textContent (no HTML from data), and
// rows are updated in place, so focus and keyboard position survive live updates.
(function () {
  'use strict';

  var HISTORY = 300;          // samples kept, as on the server (five minutes)
  var EVENTS_SHOWN = 100;     // feed entries kept on the page
  var POLL_MS = 2000;         // polling period while the stream is down
  var RETRY_MS = [1000, 2000, 5000, 10000];

  var token = '';             // the admin token, in memory only: never stored, never in a URL
  var access = null;          // {auth, actions, principal} from the last state
  var lastSnapshot = null;
  var view = { source: 'broker' };  // where the figures come from: broker, replica or none
  var finding = null;         // the lease finder's filters while it shows results
  var lastSeq = 0;
  var history = [];
  var charts = {};
  var streamAbort = null;
  var pollTimer = null;
  var retry = 0;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function short(id) { return id ? id.slice(0, 8) : ''; }

  function setConnection(state, text) {
    var c = $('connection');
    c.dataset.state = state;
    c.textContent = text;
  }

  function say(text) { $('action-status').textContent = text; }

  // ------------------------------------------------------------------ requests

  function headers(json) {
    var h = {};
    if (token) { h.Authorization = 'Bearer ' + token; }
    if (json) { h['Content-Type'] = 'application/json'; }
    return h;
  }

  function ApiError(status, body) {
    this.status = status;
    this.body = body || {};
    var e = this.body.error || {};
    this.message = e.message || ('HTTP ' + status);
  }

  function api(path, body) {
    var init = { headers: headers(body !== undefined), cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      init.method = 'POST';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!res.ok) { throw new ApiError(res.status, json); }
        return json;
      });
    });
  }

  // ------------------------------------------------------------------ access

  function needToken(message) {
    access = null;
    $('token-form').hidden = false;
    $('access-line').textContent = message;
    $('broker-actions').hidden = true;
    setConnection('unauthorized', 'waiting for an admin token');
    document.body.classList.remove('can-act');
  }

  /** Where to act instead, on a member that does not lead: the leader's API, or none known. */
  function leaderHint() {
    return view.leader_api
        ? 'act on the leader\'s dashboard (' + (view.leader_id || 'the leader') + ', API ' + view.leader_api + ')'
        : 'no leader is known now; try again shortly';
  }

  function applyAccess(a) {
    access = a;
    $('token-form').hidden = !a.auth || !!token && a.actions;
    // Only the leader's broker acts: a member that does not lead answers actions 503 NOT_LEADER.
    var leads = view.source === 'broker';
    var act = !!a.actions && leads;
    document.body.classList.toggle('can-act', act);
    $('broker-actions').hidden = !act;
    var line;
    if (a.auth) {
      line = 'Signed in as ' + a.principal + ' (admin): drain and revoke are offered.';
    } else if (a.actions) {
      line = 'No authentication on this loopback listener: drain and revoke are offered to anyone on this machine.';
    } else {
      line = 'Read-only: this broker has no tokens and its listener is not on loopback, so no actions are offered.';
    }
    if (a.actions && !leads) {
      line = line.replace(/: drain and revoke are offered.*$/, '.') +
          ' This member does not lead its cluster, so drain and revoke are not offered here: ' + leaderHint() + '.';
    }
    $('access-line').textContent = line;
  }

  function failed(err) {
    if (err instanceof ApiError && err.status === 401) {
      needToken(token ? 'That token was not accepted: ' + err.message
                      : 'This broker requires an admin token to show its state.');
      return true;
    }
    if (err instanceof ApiError && err.status === 403) {
      needToken(err.message);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ stream and polling

  function start() {
    stopStream();
    stopPolling();
    api('/api/state').then(function (state) {
      applyState(state);
      openStream();
    }, function (err) {
      if (!failed(err)) {
        setConnection('offline', 'broker unreachable: ' + err.message + '; retrying');
        setTimeout(start, RETRY_MS[RETRY_MS.length - 1]);
      }
    });
  }

  function stopStream() {
    if (streamAbort) { streamAbort.abort(); streamAbort = null; }
  }

  function startPolling() {
    if (pollTimer) { return; }
    pollTimer = setInterval(function () {
      api('/api/state').then(applyState, function (err) {
        if (failed(err)) { stopPolling(); }
      });
    }, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function openStream() {
    var abort = new AbortController();
    streamAbort = abort;
    fetch('/api/stream', { headers: headers(false), cache: 'no-store', credentials: 'omit',
                           signal: abort.signal })
      .then(function (res) {
        if (!res.ok || !res.body) {
          return res.text().then(function (t) {
            var j = null;
            try { j = JSON.parse(t); } catch (e) { j = null; }
            throw new ApiError(res.status, j);
          });
        }
        stopPolling();
        retry = 0;
        setConnection('live', 'live');
        return read(res.body.getReader(), abort);
      })
      .then(function () { streamDown(abort, null); }, function (err) { streamDown(abort, err); });
  }

  function streamDown(abort, err) {
    if (abort.signal.aborted || streamAbort !== abort) { return; }
    streamAbort = null;
    if (err && failed(err)) { return; }
    setConnection('polling', 'live stream down' + (err ? ' (' + err.message + ')' : '') +
                  '; polling every ' + POLL_MS / 1000 + ' s');
    startPolling();
    var wait = RETRY_MS[Math.min(retry, RETRY_MS.length - 1)];
    retry++;
    setTimeout(function () { if (!streamAbort && access) { openStream(); } }, wait);
  }

  function read(reader, abort) {
    var decoder = new TextDecoder();
    var buffer = '';
    function next() {
      return reader.read().then(function (r) {
        if (r.done || abort.signal.aborted) { return; }
        buffer += decoder.decode(r.value, { stream: true });
        var end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          frame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        return next();
      });
    }
    return next();
  }

  function frame(block) {
    var event = 'message';
    var data = [];
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event:') === 0) { event = line.slice(6).trim(); }
      else if (line.indexOf('data:') === 0) { data.push(line.slice(5).replace(/^ /, '')); }
    });
    if (!data.length) { return; }
    var json = JSON.parse(data.join('\n'));
    if (event === 'state') { applyState(json); }
    else if (event === 'snapshot') { renderSnapshot(json); }
    else if (event === 'events') { addEvents(json); }
    else if (event === 'sample') { addSample(json); }
  }

  function applyState(state) {
    applyAccess(state.access);
    history = state.history.slice(-HISTORY);
    renderSnapshot(state.snapshot);
    $('events').textContent = '';
    lastSeq = 0;
    addEvents(state.events);
    drawCharts();
  }

  // ------------------------------------------------------------------ rendering

  /** Makes container's children match items, by key, updating rows in place. */
  function reconcile(container, items, keyOf, create, update) {
    var existing = new Map();
    Array.prototype.forEach.call(container.children, function (c) { existing.set(c.dataset.key, c); });
    var prev = null;
    items.forEach(function (item) {
      var key = keyOf(item);
      var node = existing.get(key);
      if (node) { existing.delete(key); } else { node = create(item); node.dataset.key = key; }
      update(node, item);
      var want = prev ? prev.nextSibling : container.firstChild;
      if (node !== want) { container.insertBefore(node, want); }
      prev = node;
    });
    existing.forEach(function (node) { node.remove(); });
  }

  function setText(node, selector, text) {
    var n = node.querySelector(selector);
    if (n.textContent !== String(text)) { n.textContent = text; }
  }

  function renderSnapshot(s) {
    lastSnapshot = s;
    renderView(s.view);
    if (access) { applyAccess(access); }
    $('epoch').textContent = s.epoch;
    $('broker-state').textContent = view.source === 'replica' ? 'follower: showing its replica of the leader\'s state'
        : view.source === 'none' ? 'not leading: no state to show'
        : s.draining ? 'draining: no new grants' : 'serving';
    $('broker-state').dataset.draining = s.draining;
    var drain = $('drain-broker');
    drain.textContent = s.draining ? 'Resume broker' : 'Drain broker';
    renderPools(s.pools);
    renderPressure(s);
    renderDegradation(s);
    renderHosts(s.hot_hosts);
    renderWaiting(s.waiting);
    renderJobs(s.jobs);
    renderSessions(s);
    renderCluster(s.cluster);
  }

  /** The banner that says whose state the page shows, when it is not this broker's own. */
  function renderView(v) {
    view = v;
    var banner = $('view-banner');
    banner.dataset.source = v.source;
    banner.hidden = v.source === 'broker';
    var who = v.node ? 'This member (' + v.node + ', ' + v.role + ')' : 'This member';
    if (v.source === 'replica') {
      var leader = v.leader_id ? v.leader_id + (v.leader_api ? ' at ' + v.leader_api : '') + ' leads'
                               : 'no leader is known now, so the replica may be out of date';
      var current = 'applied up to log index ' + v.applied_index +
          (v.behind > 0 ? ', ' + v.behind + ' committed entries behind' : ', none behind what it knows is committed');
      banner.textContent = 'Follower\'s replica: ' + who + ' does not lead; ' + leader + '. ' +
          'Sessions, leases, pools in use and what each job holds are its replica of the leader\'s state (' + current + '); ' +
          'waits (see Pools), heartbeats, memory in use, counters and events are the leader\'s only. To act, ' + leaderHint() + '.';
    } else if (v.source === 'none') {
      banner.textContent = who + ' does not lead and has no replica of the leader\'s state: ' +
          'sessions, leases and pools in use are not known here. To see and act, ' + leaderHint() + '.';
    }
  }

  /**
   * Where waits are not known here (a follower's replica carries no queues), says so and links to
   * the leader's dashboard, rather than showing pools with nothing waiting.
   */
  function renderWaitsLine() {
    var line = $('waits-line');
    line.hidden = view.waits_known !== false;
    line.dataset.waitsKnown = view.waits_known !== false;
    if (line.hidden) { return; }
    line.textContent = 'Waiting acquires are known to the leader only: this member\'s replica carries ' +
        'sessions and leases, not the leader\'s queues, so waits are not shown here. ';
    if (view.leader_dashboard) {
      line.appendChild(document.createTextNode('See them on the leader\'s dashboard: '));
      line.appendChild(el('a', { id: 'leader-dashboard', href: view.leader_dashboard },
          (view.leader_id || 'the leader') + ' at ' + view.leader_dashboard));
      line.appendChild(document.createTextNode(view.leader_dashboard_configured
          ? '.' : ' (its API host, on this page\'s port).'));
    } else {
      line.appendChild(document.createTextNode('No leader is known now; try again shortly.'));
    }
  }

  function renderPools(pools) {
    renderWaitsLine();
    reconcile($('pools'), pools, function (p) { return p.kind; }, function (p) {
      var title = 'pool-' + p.kind + '-title';
      var card = el('article', { 'class': 'pool', 'data-pool': p.kind, 'aria-labelledby': title });
      card.appendChild(el('h3', { id: title }, p.kind.toUpperCase()));
      var dl = el('dl');
      [['In use', 'in-use'], ['Effective limit', 'effective-limit'], ['Limit', 'limit'],
       ['Waiting', 'waiting']].forEach(function (f) {
        dl.appendChild(el('dt', null, f[0]));
        dl.appendChild(el('dd', { 'class': f[1] }));
      });
      card.appendChild(dl);
      card.appendChild(el('p', { 'class': 'reason' }));
      card.appendChild(el('div', { 'class': 'chart', role: 'img',
        'aria-label': p.kind.toUpperCase() + ' in use, effective limit and waiting over the last minutes' }));
      return card;
    }, function (card, p) {
      card.dataset.inUse = p.in_use;
      card.dataset.limit = p.limit;
      card.dataset.effectiveLimit = p.effective_limit;
      // null where waits are not known here (a follower): never shown as 0.
      card.dataset.waiting = p.waiting === null ? 'unknown' : p.waiting;
      card.classList.toggle('full', p.in_use >= p.effective_limit);
      var unknown = view.source === 'none';
      setText(card, '.in-use', unknown ? '–' : p.in_use);
      setText(card, '.effective-limit', p.effective_limit);
      setText(card, '.limit', p.limit);
      setText(card, '.waiting', unknown ? '–' : p.waiting === null ? 'on the leader only' : p.waiting);
      setText(card, '.reason', p.reason);
    });
  }

  function renderPressure(s) {
    var level = $('pressure-level');
    level.textContent = s.pressure.level;
    level.dataset.level = s.pressure.level;
    var used = s.pressure.fleet_limit_mb > 0
        ? s.pressure.fleet_used_mb + ' of ' + s.pressure.fleet_limit_mb + ' MB in use' : 'no fleet limit reported';
    $('pressure-detail').textContent = used + (s.pressure.trigger ? ' · ' + s.pressure.trigger : '');
  }

  function renderDegradation(s) {
    var score = $('degradation-score');
    score.textContent = s.degradation_score.toFixed(2);
    score.dataset.score = s.degradation_score;
    var lowered = s.pools.filter(function (p) { return p.effective_limit < p.limit; });
    $('degradation-effect').textContent = lowered.length === 0
        ? 'No limit is lowered.'
        : lowered.map(function (p) {
            return p.kind.toUpperCase() + ' limited to ' + p.effective_limit + ' of ' + p.limit +
                (p.reason ? ' (' + p.reason + ')' : '');
          }).join('; ') + '.';
  }

  function renderHosts(hosts) {
    reconcile($('hosts'), hosts, function (h) { return h.host; }, function (h) {
      var tr = el('tr', { 'data-host': h.host });
      tr.appendChild(el('th', { scope: 'row' }, h.host));
      tr.appendChild(el('td', { 'class': 'rate' }));
      tr.appendChild(el('td', { 'class': 'refusals' }));
      tr.appendChild(el('td', { 'class': 'reason' }));
      return tr;
    }, function (tr, h) {
      setText(tr, '.rate', h.rate + ' (' + h.configured_rate + ')');
      setText(tr, '.refusals', h.refusals);
      setText(tr, '.reason', h.reason || '–');
    });
  }

  /**
   * The oldest acquires waiting, each with the rule that holds it back; a member without the
   * serving broker's queue says where to look. Rows are keyed by place: the list moves each
   * second.
   */
  function renderWaiting(w) {
    var line;
    if (!w.known) {
      line = 'Only the serving leader has a wait queue: see its dashboard, or berth waiting.';
    } else if (w.total === 0) {
      line = 'Nothing waits.';
    } else {
      line = w.total + ' waiting' +
        (w.total > w.shown.length ? ', the oldest ' + w.shown.length + ' shown' : '') + '.';
    }
    $('waiting-line').textContent = line;
    var rows = w.shown.map(function (x, i) { x.place = i; return x; });
    reconcile($('waiting'), rows, function (x) { return String(x.place); }, function (x) {
      var tr = el('tr', { 'data-waiting': String(x.place) });
      ['waited', 'left', 'kinds', 'target', 'worker', 'job', 'priority', 'held']
        .forEach(function (c) { tr.appendChild(el('td', { 'class': c })); });
      return tr;
    }, function (tr, x) {
      setText(tr, '.waited', x.waited_s + 's');
      setText(tr, '.left', x.left_s + 's');
      setText(tr, '.kinds', x.kinds);
      setText(tr, '.target', x.target);
      setText(tr, '.worker', x.worker);
      setText(tr, '.job', x.job);
      setText(tr, '.priority', x.priority);
      setText(tr, '.held', x.held_by);
    });
  }

  /**
   * A job's min of a kind: as configured, then the min that applies now when a degraded pool or
   * held-back slots scale it down, e.g. "4 (2 now)"; a replica does not know it (null).
   */
  function minText(k) {
    if (k.min === 0) { return '–'; }
    if (k.guaranteed_min === null) { return k.min + ' (now: ask the leader)'; }
    return k.guaranteed_min < k.min ? k.min + ' (' + k.guaranteed_min + ' now)' : String(k.min);
  }

  /** A share as berth status prints it, two decimals; '?' where this member does not know it. */
  function ratioText(x) { return x === null ? '?' : x.toFixed(2); }

  /** One row per job and kind it holds, waits for, or has a min or max in. */
  function renderJobs(jobs) {
    var rows = [];
    jobs.forEach(function (j) {
      j.kinds.forEach(function (k) {
        if (k.held || k.waiting || k.min || k.max) { rows.push({ job: j, k: k, key: j.name + ' ' + k.kind }); }
      });
    });
    var plain = jobs.length === 1 && jobs[0].weight === 1 && rows.length === 0;
    $('jobs-line').textContent = plain ? 'No jobs configured: every session runs as default.'
        : jobs.length + (jobs.length === 1 ? ' job' : ' jobs') +
          (rows.length < jobs.length ? '; those holding, waiting or with a min or max are listed' : '') +
          (view.source === 'replica' ? '; held and share are the replica\'s; waiting, fair share and the min that applies now are the leader\'s only' : '');
    reconcile($('jobs'), rows, function (r) { return r.key; }, function (r) {
      var tr = el('tr', { 'data-job': r.job.name, 'data-kind': r.k.kind });
      tr.appendChild(el('th', { scope: 'row' }, r.job.name));
      tr.appendChild(el('td', { 'class': 'weight' }));
      tr.appendChild(el('td', {}, r.k.kind));
      tr.appendChild(el('td', { 'class': 'held' }));
      tr.appendChild(el('td', { 'class': 'min' }));
      tr.appendChild(el('td', { 'class': 'max' }));
      tr.appendChild(el('td', { 'class': 'waiting' }));
      tr.appendChild(el('td', { 'class': 'share' }));
      tr.appendChild(el('td', { 'class': 'fair' }));
      return tr;
    }, function (tr, r) {
      setText(tr, '.weight', r.job.weight);
      setText(tr, '.held', r.k.held === null ? '?' : r.k.held);
      setText(tr, '.min', minText(r.k));
      setText(tr, '.max', r.k.max === 0 ? '–' : r.k.max);
      setText(tr, '.waiting', r.k.waiting === null ? '?' : r.k.waiting);
      setText(tr, '.share', ratioText(r.k.share));
      setText(tr, '.fair', ratioText(r.k.fair_share));
    });
  }

  function renderSessions(s) {
    var total = s.sessions_connected + s.sessions_disconnected;
    var leasesLine = $('leases-line');
    if (view.source === 'none') {
      $('sessions-line').textContent = 'Not known on this member: see the banner above.';
      leasesLine.textContent = '';
      leasesLine.dataset.truncated = false;
    } else {
      // "live" and "disconnected" as berth status and berth top say them (BrokerStatus.sessions).
      $('sessions-line').textContent = total + ' sessions (' +
          (view.source === 'replica' ? 'as replicated: connections are known to the leader only'
                                     : s.sessions_connected + ' live, ' + s.sessions_disconnected + ' disconnected') +
          ')' + (s.sessions.length < total ? '; the first ' + s.sessions.length + ' by id are shown' : '');
      var truncated = s.leases_shown < s.leases_total;
      leasesLine.dataset.truncated = truncated;
      leasesLine.dataset.shown = s.leases_shown;
      leasesLine.dataset.total = s.leases_total;
      leasesLine.textContent = truncated
          ? 'Showing ' + s.leases_shown + ' of ' + s.leases_total + ' leases: the rest are not listed here. ' +
            'Find them below (by session, worker, job, kind or host, a page at a time).'
          : 'Showing all ' + s.leases_total + ' leases.';
    }
    reconcile($('sessions'), s.sessions, function (x) { return x.id; }, function (x) {
      var tr = el('tr', { 'data-session': x.id });
      tr.appendChild(el('th', { scope: 'row', 'class': 'worker' }));
      tr.appendChild(el('td', { 'class': 'job' }));
      tr.appendChild(el('td', { 'class': 'sid' }, short(x.id)));
      tr.appendChild(el('td', { 'class': 'state' }));
      tr.appendChild(el('td', { 'class': 'memory' }));
      var leases = el('td', { 'class': 'leases-cell' });
      leases.appendChild(el('ul', { 'class': 'leases' }));
      tr.appendChild(leases);
      var actions = el('td', { 'class': 'actions-col' });
      var drain = el('button', { type: 'button', 'class': 'act drain-session',
        'aria-label': 'Drain session ' + short(x.id) + ' of ' + x.worker }, 'Drain');
      drain.addEventListener('click', function () { drainSession(x.id, x.worker); });
      actions.appendChild(drain);
      tr.appendChild(actions);
      return tr;
    }, function (tr, x) {
      tr.dataset.leases = x.lease_count;
      setText(tr, '.worker', x.worker);
      // The job it runs as; its "job" label too when that says something else.
      var label = x.labels && x.labels.job;
      setText(tr, '.job', (x.job || '–') + (label && label !== x.job ? ' (label ' + label + ')' : ''));
      // A replica knows no connections: the leader holds them.
      setText(tr, '.state', view.source === 'replica' ? 'replicated'
          : x.draining ? 'draining' : x.connected ? 'connected' : 'reconnecting');
      setText(tr, '.memory', x.memory_limit_mb > 0 ? x.memory_used_mb + ' / ' + x.memory_limit_mb
                                                    : String(x.memory_used_mb));
      tr.querySelector('.drain-session').disabled = x.draining;
      reconcile(tr.querySelector('.leases'), x.leases, function (l) { return l.id; }, leaseItem, function () {});
      var more = x.lease_count - x.leases.length;
      var note = tr.querySelector('.more-leases');
      if (more > 0 && !note) {
        note = el('p', { 'class': 'more-leases' });
        note.appendChild(el('span'));
        var find = el('button', { type: 'button', 'aria-label': 'Find every lease of session ' + short(x.id) }, 'Find all');
        find.addEventListener('click', function () { findLeases({ session_id: x.id }); });
        note.appendChild(find);
        tr.querySelector('.leases-cell').appendChild(note);
      } else if (more <= 0 && note) {
        note.remove();
      }
      if (more > 0) {
        note.querySelector('span').textContent = x.leases.length + ' of ' + x.lease_count + ' listed ';
      }
    });
  }

  function leaseWhat(l) {
    return l.kind + (l.host ? ' ' + l.host : '') + (l.module ? ' ' + l.module : '');
  }

  function revokeButton(l) {
    var what = leaseWhat(l);
    var revoke = el('button', { type: 'button', 'class': 'act revoke',
      'aria-label': 'Revoke lease ' + short(l.id) + ' (' + what + ')' }, 'Revoke');
    revoke.addEventListener('click', function () { revokeLease(l.id, what, revoke); });
    return revoke;
  }

  function leaseItem(l) {
    var li = el('li', { 'data-lease': l.id, 'data-kind': l.kind });
    li.appendChild(el('span', null, leaseWhat(l) + ' · token ' + l.fencing_token + ' '));
    li.appendChild(revokeButton(l));
    return li;
  }

  // ------------------------------------------------------------------ lease finder

  /** Shows the first page of leases matching filters (session_id, worker, job, kind, host). */
  function findLeases(filters) {
    var form = $('find-form');
    ['session_id', 'worker', 'job', 'kind', 'host'].forEach(function (k) {
      form.elements[k].value = filters[k] || '';
    });
    finding = filters;
    $('found').textContent = '';
    showFound('');
  }

  function showFound(after) {
    var params = new URLSearchParams();
    Object.keys(finding).forEach(function (k) { if (finding[k]) { params.set(k, finding[k]); } });
    if (after) { params.set('after', after); }
    api('/api/leases?' + params.toString()).then(function (r) {
      var body = $('found');
      r.leases.forEach(function (l) {
        var tr = el('tr', { 'data-lease': l.id, 'data-kind': l.kind });
        tr.appendChild(el('th', { scope: 'row' }, short(l.id)));
        tr.appendChild(el('td', null, leaseWhat(l)));
        tr.appendChild(el('td', null, String(l.fencing_token)));
        tr.appendChild(el('td', null, l.worker));
        tr.appendChild(el('td', null, short(l.session_id)));
        var actions = el('td', { 'class': 'actions-col' });
        actions.appendChild(revokeButton(l));
        tr.appendChild(actions);
        body.appendChild(tr);
      });
      $('found-table').hidden = body.children.length === 0;
      var next = $('found-next');
      next.hidden = !r.next_after;
      next.dataset.after = r.next_after;
      $('find-line').textContent = r.source === 'none'
          ? 'This member has no state to search: see the banner above.'
          : body.children.length + ' matching leases listed' + (r.next_after ? '; more on the next page' : '') +
            (r.source === 'replica' ? ' (from this follower\'s replica)' : '') + '.';
    }, function (err) {
      if (!failed(err)) { $('find-line').textContent = 'Could not search: ' + err.message; }
    });
  }

  function renderCluster(c) {
    var line = $('cluster-line');
    line.dataset.clustered = c.clustered;
    $('cluster-table').hidden = !c.clustered;
    line.textContent = c.clustered ? c.members.length + ' members'
                                   : 'Standalone: this broker is not part of a cluster.';
    reconcile($('cluster'), c.members, function (m) { return m.id; }, function (m) {
      var tr = el('tr', { 'data-member': m.id });
      var name = m.id + (m.self ? ' (this broker)' : '');
      var th = el('th', { scope: 'row' });
      if (m.dashboard && !m.self) {
        // Another member's dashboard, where its URL is configured (cluster.peers.*.dashboard).
        th.appendChild(el('a', { href: m.dashboard }, name));
      } else {
        th.textContent = name;
      }
      tr.appendChild(th);
      tr.appendChild(el('td', null, m.address));
      tr.appendChild(el('td', { 'class': 'role' }));
      return tr;
    }, function (tr, m) { setText(tr, '.role', m.role); });
  }

  function addEvents(events) {
    var list = $('events');
    events.forEach(function (e) {
      if (e.seq <= lastSeq) { return; }
      lastSeq = e.seq;
      var li = el('li', { 'data-type': e.type, 'data-seq': e.seq });
      li.appendChild(el('time', { datetime: new Date(e.t).toISOString() },
                        new Date(e.t).toLocaleTimeString()));
      li.appendChild(el('span', { 'class': 'type' }, e.type));
      var parts = [];
      if (e.worker) { parts.push(e.worker); }
      if (e.session_id) { parts.push('session ' + short(e.session_id)); }
      if (e.kind) { parts.push(e.kind + (e.host ? ' ' + e.host : '')); }
      if (e.lease_id) { parts.push('lease ' + short(e.lease_id)); }
      if (e.detail) { parts.push(e.detail); }
      li.appendChild(el('span', { 'class': 'what' }, parts.join(' · ')));
      list.insertBefore(li, list.firstChild);
    });
    while (list.children.length > EVENTS_SHOWN) { list.lastChild.remove(); }
  }

  // ------------------------------------------------------------------ charts (uPlot)

  var SERIES = {
    pool: [{ label: 'in use', stroke: '#1f6feb' }, { label: 'effective limit', stroke: '#cf222e' },
           { label: 'waiting', stroke: '#9a6700', dash: [4, 4] }],
    fleet: [{ label: 'used MB', stroke: '#1f6feb' }, { label: 'limit MB', stroke: '#cf222e' }],
    heap: [{ label: 'heap MB', stroke: '#1f6feb' }, { label: 'max MB', stroke: '#cf222e' }],
    degradation: [{ label: 'score', stroke: '#8250df' }]
  };

  /** The y range: from 0 (counts and sizes never go below), at most 1 for the score. */
  function yRange(max) {
    return function (u, lo, hi) { return [0, max || Math.max(1, hi * 1.1)]; };
  }

  function chart(key, container, series, max) {
    if (charts[key]) { return charts[key]; }
    if (typeof uPlot === 'undefined') { return null; }
    var opts = {
      width: Math.max(240, container.clientWidth || 320),
      height: 140,
      scales: { x: { time: true }, y: { range: yRange(max) } },
      legend: { show: true },
      series: [{}].concat(series.map(function (s) {
        return { label: s.label, stroke: s.stroke, width: 1.5, dash: s.dash, points: { show: false } };
      })),
      axes: [{}, { size: 60 }]
    };
    var empty = [[]].concat(series.map(function () { return []; }));
    charts[key] = { plot: new uPlot(opts, empty, container), container: container };
    return charts[key];
  }

  function column(pick) {
    return history.map(pick);
  }

  function drawCharts() {
    if (!lastSnapshot) { return; }
    var xs = column(function (h) { return h.t / 1000; });
    lastSnapshot.pools.forEach(function (p) {
      var card = document.querySelector('[data-pool="' + p.kind + '"] .chart');
      var c = card && chart('pool-' + p.kind, card, SERIES.pool);
      if (c) {
        c.plot.setData([xs,
          column(function (h) { return h.pools[p.kind] ? h.pools[p.kind][0] : null; }),
          column(function (h) { return h.pools[p.kind] ? h.pools[p.kind][1] : null; }),
          column(function (h) { return h.pools[p.kind] ? h.pools[p.kind][3] : null; })]);
      }
    });
    var fleet = chart('fleet', $('chart-fleet'), SERIES.fleet);
    if (fleet) {
      fleet.plot.setData([xs, column(function (h) { return h.fleet_used_mb; }),
                          column(function (h) { return h.fleet_limit_mb || null; })]);
    }
    var heap = chart('heap', $('chart-heap'), SERIES.heap);
    if (heap) {
      heap.plot.setData([xs, column(function (h) { return h.heap_used_mb; }),
                         column(function (h) { return h.heap_max_mb || null; })]);
    }
    var degradation = chart('degradation', $('chart-degradation'), SERIES.degradation, 1);
    if (degradation) {
      degradation.plot.setData([xs, column(function (h) { return h.degradation; })]);
    }
  }

  function addSample(sample) {
    history.push(sample);
    if (history.length > HISTORY) { history.shift(); }
    drawCharts();
  }

  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (k) {
      var c = charts[k];
      c.plot.setSize({ width: Math.max(240, c.container.clientWidth || 320), height: 140 });
    });
  });

  // ------------------------------------------------------------------ actions

  function act(path, body, done) {
    say('Working…');
    return api(path, body).then(done, function (err) {
      if (!failed(err)) { say('Failed: ' + err.message); }
    });
  }

  function revokeLease(id, what, button) {
    button.disabled = true;
    act('/api/leases/revoke', { lease_id: id }, function (r) {
      say(r.revoked ? 'Revoked lease ' + short(id) + ' (' + what + ').'
                    : 'Lease ' + short(id) + ' had already ended (' + r.ended_by + ').');
    }).then(function () { button.disabled = false; });
  }

  function drainSession(id, worker) {
    act('/api/sessions/drain', { session_id: id }, function (r) {
      say('Draining session ' + short(id) + ' of ' + worker + '; it holds ' + r.leases_held + ' leases.');
    });
  }

  function drainBroker() {
    var resume = !!(lastSnapshot && lastSnapshot.draining);
    act('/api/broker/drain', { resume: resume }, function (r) {
      say(r.draining ? 'Broker draining: no new grants.' : 'Broker resumed.');
    });
  }

  // ------------------------------------------------------------------ start

  document.addEventListener('DOMContentLoaded', function () {
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      token = $('token').value.trim();
      $('token').value = '';
      say('');
      start();
    });
    $('drain-broker').addEventListener('click', drainBroker);
    $('find-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var form = ev.target;
      findLeases({ session_id: form.elements.session_id.value.trim(), worker: form.elements.worker.value.trim(),
                   job: form.elements.job.value.trim(), kind: form.elements.kind.value,
                   host: form.elements.host.value.trim() });
    });
    $('found-next').addEventListener('click', function () {
      if (finding) { showFound($('found-next').dataset.after); }
    });
    start();
  });
})();
