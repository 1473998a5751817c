/* The appendix table: search, filter, sort and pages over the instance data embedded in the page (gzip, base64),
   unpacked with the browser's own DecompressionStream: no library, no request. Builds cells with textContent only, so
   no value from the data is ever parsed as markup. Without this script the page still shows the first rows as a plain
   table. For printing, every row (up to the data's printRows) is put in the table and the folds are opened, then the
   screen view comes back. */
/* global document, window */
(function () {
  'use strict';
  var dataEl = document.getElementById('instance-data');
  var table = document.getElementById('instances');
  if (!dataEl || !table) return;
  var data = JSON.parse(dataEl.textContent);
  var cols = data.columns;
  var rows = [];
  var hay = [];
  var statusCol = cols.findIndex(function (c) {
    return c.key === 'status';
  });
  var pageSize = 100;
  var state = { q: '', status: '', sort: -1, dir: 1, page: 0 };
  var tbody = table.tBodies[0];
  var q = document.getElementById('q');
  var sel = document.getElementById('status-filter');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');
  var info = document.getElementById('page-info');
  var count = document.getElementById('match-count');
  var note = document.getElementById('appendix-note');
  var fold = document.getElementById('appendix-fold');
  var heads = table.tHead.rows[0].cells;
  var screenNote = note.textContent;

  function unpack(d) {
    if (d.encoding !== 'gzip-base64') return Promise.resolve(d.rows);
    if (typeof DecompressionStream === 'undefined') return Promise.reject(new Error('no DecompressionStream'));
    var bin = atob(d.rows);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(JSON.parse);
  }

  function cellNode(col, value) {
    var td = document.createElement('td');
    var text = value === null ? '' : String(value);
    td.setAttribute('data-label', col.label);
    if (col.numeric) td.className = 'n';
    if (col.key === 'status') {
      var s = document.createElement('span');
      s.className = 'st st-' + text;
      s.textContent = text;
      td.appendChild(s);
    } else if (col.key === 'instanceId') {
      var c = document.createElement('code');
      c.className = 'id';
      c.textContent = text;
      td.appendChild(c);
    } else if (col.untrusted) {
      var b = document.createElement('bdi');
      b.className = /[^\s-]{16,}/.test(text) ? 'u long' : 'u';
      b.textContent = text;
      td.appendChild(b);
    } else {
      td.textContent = col.key === 'imdsv1Calls' && value === null ? 'unknown' : text;
    }
    return td;
  }

  function rowNode(r) {
    var tr = document.createElement('tr');
    for (var c = 0; c < cols.length; c++) tr.appendChild(cellNode(cols[c], r[c]));
    return tr;
  }

  function matching() {
    var needle = state.q.toLowerCase();
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      if (state.status && rows[i][statusCol] !== state.status) continue;
      if (needle && hay[i].indexOf(needle) === -1) continue;
      out.push(i);
    }
    if (state.sort >= 0) {
      var k = state.sort;
      var numeric = cols[k].numeric;
      out.sort(function (a, b) {
        var x = rows[a][k];
        var y = rows[b][k];
        var d;
        if (numeric) d = (x === null ? -1 : x) - (y === null ? -1 : y);
        else d = String(x).localeCompare(String(y));
        return d * state.dir || a - b;
      });
    }
    return out;
  }

  function render() {
    var idx = matching();
    var pages = Math.max(1, Math.ceil(idx.length / pageSize));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * pageSize;
    var frag = document.createDocumentFragment();
    for (var i = start; i < Math.min(idx.length, start + pageSize); i++) frag.appendChild(rowNode(rows[idx[i]]));
    tbody.replaceChildren(frag);
    count.textContent = idx.length + ' of ' + rows.length + ' instance(s) match';
    info.textContent = 'page ' + (state.page + 1) + ' of ' + pages;
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    for (var h = 0; h < heads.length; h++) {
      heads[h].setAttribute('aria-sort', h === state.sort ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  // Printing: every row the heading counts (up to printRows; the note then names the CSV), folds open.
  var folds = [];
  var printing = false;
  var buttons = [];
  function beforePrint() {
    if (printing) return;
    printing = true;
    folds = Array.prototype.filter.call(document.querySelectorAll('details'), function (d) {
      return !d.open && !d.classList.contains('held-group');
    });
    folds.forEach(function (d) {
      d.open = true;
    });
    // Chromium repeats a table header on each printed page but leaves buttons in the repeats blank: plain labels.
    for (var h = 0; h < heads.length; h++) if (buttons[h]) heads[h].textContent = buttons[h].textContent;
    if (rows.length > 0) {
      var n = Math.min(rows.length, data.printRows);
      var frag = document.createDocumentFragment();
      for (var i = 0; i < n; i++) frag.appendChild(rowNode(rows[i]));
      tbody.replaceChildren(frag);
      note.textContent =
        n === rows.length
          ? 'All ' + rows.length + ' instances, by instance id. The same list is in instances.csv.'
          : 'The first ' + n + ' of ' + rows.length + ' instances, by instance id; instances.csv holds all of them.';
      document.documentElement.setAttribute('data-print-rows', String(n));
    }
    var times = Number(document.documentElement.getAttribute('data-printed') || '0') + 1;
    document.documentElement.setAttribute('data-printed', String(times));
  }
  function afterPrint() {
    if (!printing) return;
    printing = false;
    folds.forEach(function (d) {
      d.open = false;
    });
    folds = [];
    for (var h = 0; h < heads.length; h++) if (buttons[h]) heads[h].replaceChildren(buttons[h]);
    if (rows.length > 0) {
      note.textContent = screenNote;
      render();
    }
  }
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);

  function ready() {
    document.documentElement.setAttribute('data-ready', '1');
  }

  unpack(data)
    .then(function (r) {
      rows = r;
      hay = rows.map(function (x) {
        return x.join('\u0001').toLowerCase();
      });
      for (var h = 0; h < heads.length; h++) {
        (function (col) {
          var th = heads[col];
          var btn = document.createElement('button');
          btn.type = 'button';
          btn.textContent = th.textContent;
          btn.addEventListener('click', function () {
            if (state.sort === col) state.dir = -state.dir;
            else {
              state.sort = col;
              state.dir = 1;
            }
            render();
          });
          th.replaceChildren(btn);
          buttons[col] = btn;
        })(h);
      }
      q.addEventListener('input', function () {
        state.q = q.value;
        state.page = 0;
        render();
      });
      sel.addEventListener('change', function () {
        state.status = sel.value;
        state.page = 0;
        render();
      });
      prev.addEventListener('click', function () {
        state.page--;
        render();
      });
      next.addEventListener('click', function () {
        state.page++;
        render();
      });
      document.getElementById('table-controls').hidden = false;
      screenNote =
        rows.length +
        ' instance(s). Search, filter by readiness, or click a column heading to sort. The same list is in instances.csv.';
      note.textContent = screenNote;
      render();
      if (fold && window.location.hash === '#appendix') fold.open = true;
      ready();
    })
    .catch(function () {
      // The static rows stay; say why the rest cannot be shown here.
      note.textContent +=
        ' This browser cannot unpack the embedded list (it lacks DecompressionStream): instances.csv holds every instance.';
      ready();
    });
})();
