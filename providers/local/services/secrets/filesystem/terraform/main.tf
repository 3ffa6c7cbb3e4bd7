# Secrets of the local provider: one private folder each under <local root>/.infrar-secrets.
# The folders hold no value: the program writes versions into them with set_secret. Only the
# null provider is needed, so plan and apply run with no cloud account and no network.

variable "secrets" {
  description = "Logical name -> physical name and the permissions the code uses."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "root" {
  description = "Folder that holds the secrets folder; a relative path is taken from the project folder."
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

resource "null_resource" "secret" {
  for_each = var.secrets

  triggers = {
    folder = "${local.root}/.infrar-secrets/${each.value.name}"
  }

  # An argument list, not a command line: no shell ever parses the folder name. The mode
  # applies to the secret's own folder, which only its owner may enter.
  provisioner "local-exec" {
    interpreter = ["mkdir", "-p", "-m", "700", "--"]
    command     = self.triggers.folder
  }
}

output "folders" {
  description = "Secret folders, by logical name."
  value       = { for key, secret in null_resource.secret : key => secret.triggers.folder }
}

output "permissions" {
  description = "What the code does with each secret, by logical name (folders have no IAM)."
  value       = { for key, secret in var.secrets : key => secret.permissions }
}
