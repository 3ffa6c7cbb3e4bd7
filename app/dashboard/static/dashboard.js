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
  function streamBlock(name) {
    var blocks = output.querySelectorAll("pre[data-stream]");
    for (var i = 0; i < blocks.length; i++) {
      if (blocks[i].dataset.stream === name) {
        return blocks[i];
      }
    }
    var wrapper = document.createElement("div");
    wrapper.className = "stream";
    var heading = document.createElement("h3");
    heading.textContent = name;
    var pre = document.createElement("pre");
    pre.className = "output";
    pre.dataset.stream = name;
    wrapper.appendChild(heading);
    wrapper.appendChild(pre);
    output.appendChild(wrapper);
    return pre;
  }
  source.addEventListener("line", function (event) {
    var data = JSON.parse(event.data);
    var block = streamBlock(data.stream);
    var line = document.createElement("span");
    line.className = "line";
    line.textContent = data.text + "\n";
    var atEnd = block.scrollTop + block.clientHeight >= block.scrollHeight - 4;
    block.appendChild(line);
    if (atEnd) {
      block.scrollTop = block.scrollHeight;
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
