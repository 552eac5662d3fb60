// fabsync live progress: polls the task API while a sync task is queued or running and shows its
// step, then the result message recorded by the run. Pages work without it (they reload
// themselves); nothing here decides anything, it only shows what the server recorded.
(function () {
  'use strict';

  const panel = document.getElementById('sync-progress');
  if (!panel || panel.dataset.done === 'true') {
    return;
  }
  const taskId = panel.dataset.taskId;
  let lastKey = '';
  let failures = 0;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function badge(kind, value) {
    return el('span', 'badge ' + kind + ' ' + kind + '-' + value, value);
  }

  function link(href, text) {
    const a = el('a', null, text);
    a.href = href;
    return a;
  }

  function message(t) {
    const run = t.run;
    if (t.outcome === 'success') {
      const box = el('div', 'sync-success-message');
      box.setAttribute('role', 'status');
      box.appendChild(el('strong', null, 'Sync succeeded: '));
      box.appendChild(el('span', 'message-text', (run && run.message) || t.message || ''));
      if (run) {
        box.appendChild(document.createTextNode(' '));
        box.appendChild(link('/runs/' + run.id, 'Run ' + run.id + ' details'));
      }
      return box;
    }
    const box = el('div', 'sync-error-message');
    box.setAttribute('role', 'alert');
    box.appendChild(el('strong', null, 'Sync failed'));
    if (run) {
      box.appendChild(document.createTextNode(' (run '));
      box.appendChild(link('/runs/' + run.id, run.id));
      box.appendChild(document.createTextNode(', step ' + run.step));
      if (run.error_kind) {
        box.appendChild(document.createTextNode(', '));
        box.appendChild(el('code', null, run.error_kind));
      }
      box.appendChild(document.createTextNode(')'));
    }
    box.appendChild(document.createTextNode(': '));
    box.appendChild(el('pre', 'message-text', (run && run.error) || t.message || ''));
    if (t.state === 'RETRY') {
      const p = el('p', 'retry', 'fabsync retries on its own: attempt ' + (t.attempts + 1));
      if (t.retry_at) {
        p.appendChild(document.createTextNode(' at '));
        p.appendChild(el('span', 'retry-at', t.retry_at));
      }
      p.appendChild(document.createTextNode('.'));
      box.appendChild(p);
    }
    return box;
  }

  function stepText(t) {
    switch (t.state) {
      case 'PENDING': return 'waiting for its turn';
      case 'STARTED': return t.run ? 'step: ' + t.run.step : 'starting';
      case 'RETRY': return 'waiting to retry';
      default: return '';
    }
  }

  function setStatus(status) {
    const wrap = document.getElementById('fabric-status-wrap');
    if (wrap) {
      const b = badge('status', status);
      b.dataset.status = status;
      wrap.replaceChildren(b);
    }
  }

  // Re-reads the server-rendered sections (status, history) once something changed.
  function refreshSections() {
    fetch(window.location.pathname + window.location.search, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error('HTTP ' + r.status)); })
      .then(function (html) {
        const doc = new DOMParser().parseFromString(html, 'text/html');
        ['fabric-summary', 'run-history'].forEach(function (id) {
          const fresh = doc.getElementById(id);
          const old = document.getElementById(id);
          if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
        });
      })
      .catch(function () { /* the next change tries again */ });
  }

  function render(t) {
    setStatus(t.fabric.status);
    const state = panel.querySelector('.progress-state');
    if (state) { state.replaceChildren(badge('phase', t.state)); }
    const step = panel.querySelector('.progress-step');
    if (step) { step.textContent = stepText(t); }
    const result = panel.querySelector('.progress-result');
    if (result) {
      if (t.outcome) { result.replaceChildren(message(t)); } else { result.replaceChildren(); }
    }
    const lost = panel.querySelector('.conn-lost');
    if (lost) { lost.remove(); }
    const key = [t.state, t.run ? t.run.id : '', t.run ? t.run.step : ''].join('/');
    if (key !== lastKey) {
      lastKey = key;
      refreshSections();
    }
  }

  function problem(text) {
    let p = panel.querySelector('.conn-lost');
    if (!p) {
      p = el('p', 'conn-lost');
      panel.appendChild(p);
    }
    p.textContent = text;
  }

  function poll() {
    fetch('/api/tasks/' + encodeURIComponent(taskId), {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    })
      .then(function (r) {
        if (r.status === 401) {
          const e = new Error('Your session has ended: log in again to follow this task.');
          e.fatal = true;
          throw e;
        }
        return r.json().then(function (body) {
          if (!r.ok) {
            const e = new Error(body.message || ('HTTP ' + r.status));
            e.fatal = r.status === 404;
            throw e;
          }
          return body;
        });
      })
      .then(function (t) {
        failures = 0;
        render(t);
        if (t.done) {
          panel.dataset.done = 'true';
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function (e) {
        failures += 1;
        if (e.fatal) {
          problem(e.message);
          return;
        }
        problem('Lost contact with fabsync (' + e.message + '); trying again…');
        window.setTimeout(poll, Math.min(1000 * Math.pow(2, failures), 15000));
      });
  }

  window.setTimeout(poll, 250);
})();
