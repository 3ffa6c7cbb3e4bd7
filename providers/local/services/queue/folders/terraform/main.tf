# Queues of the local provider: one folder each under <local root>/.infrar-queues. Only the
# null provider is needed, so plan and apply run with no cloud account and no network. The
# code makes each queue's ready/ and in-flight/ folders itself when it first needs them.

variable "queues" {
  description = "Logical name -> physical name and the permissions the code uses."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "root" {
  description = "Folder that holds the local resources; a relative path is taken from the project folder."
  type        = string
}

variable "project_dir" {
  description = "The project folder, relative to the Terraform working directory."
  type        = string
  default     = "."
}

locals {
  root = substr(var.root, 0, 1) == "/" ? var.root : abspath("${path.root}/${var.project_dir}/${var.root}")
}

resource "null_resource" "queue" {
  for_each = var.queues

  triggers = {
    folder = "${local.root}/.infrar-queues/${each.value.name}"
  }

  # An argument list, not a command line: no shell ever parses the folder name.
  provisioner "local-exec" {
    interpreter = ["mkdir", "-p", "--"]
    command     = self.triggers.folder
  }
}

output "folders" {
  description = "Queue folders, by logical name."
  value       = { for key, queue in null_resource.queue : key => queue.triggers.folder }
}

output "permissions" {
  description = "What the code does with each queue, by logical name (folders have no IAM)."
  value       = { for key, queue in var.queues : key => queue.permissions }
}
