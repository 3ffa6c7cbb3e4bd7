// Progressive enhancement only: every page works without it.
"use strict";

document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", function () {
  var output = document.getElementById("output");
  if (!output || !output.dataset.events || !window.EventSource) {
    return;
  }
  var url = output.dataset.events + "?after=" + encodeURIComponent(output.dataset.after || "0");
  var source = new EventSource(url);
  source.addEventListener("line", function (event) {
    var data = JSON.parse(event.data);
    var line = document.createElement("span");
    line.className = "line";
    line.dataset.stream = data.stream;
    line.textContent = "[" + data.stream + "] " + data.text + "\n";
    var atEnd = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
    output.appendChild(line);
    if (atEnd) {
      output.scrollTop = output.scrollHeight;
    }
  });
  source.addEventListener("end", function (event) {
    source.close();
    var status = document.getElementById("job-status");
    if (status) {
      var done = JSON.parse(event.data).status;
      status.textContent = done;
      status.className = "status status-" + done;
    }
    var live = document.getElementById("live");
    if (live) {
      live.textContent = "Finished.";
    }
  });
});
